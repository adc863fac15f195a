package swarm

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
	"github.com/plat-sh/plat/providers/swarm/swarmtest"
)

func file(path, sha string, size int64) platform.TreeEntry {
	return platform.TreeEntry{Path: path, Mode: 0o644, Size: size, SHA256: sha}
}

func TestPlanBuildDelta(t *testing.T) {
	base := []platform.TreeEntry{
		{Path: "app", Dir: true, Mode: 0o755},
		file("app/big", "b1", 1000),
		file("app/main.py", "m1", 10),
		file("gone", "g1", 5),
		{Path: "old", Dir: true, Mode: 0o755},
		file("old/x", "x1", 5),
		file("was-file", "w1", 5),
	}
	next := []platform.TreeEntry{
		{Path: "app", Dir: true, Mode: 0o755},
		file("app/big", "b1", 1000),
		file("app/main.py", "m2", 12),
		{Path: "was-file", Dir: true, Mode: 0o755},
		file("was-file/y", "y1", 3),
	}
	req := &platform.PublishRequest{Tree: next, Base: "r1", BaseTree: base}
	p := planBuild(req, "plat/base:bookworm", "plat/app:env-r1", 1)
	if p.from != "plat/app:env-r1" || p.depth != 2 {
		t.Fatalf("want a delta on r1's image, got from %s depth %d", p.from, p.depth)
	}
	var added []string
	for _, e := range p.add {
		added = append(added, e.Path)
	}
	if got := strings.Join(added, " "); got != "app app/main.py was-file was-file/y" {
		t.Errorf("delta writes %q", got)
	}
	if got := strings.Join(p.remove, " "); got != "was-file gone old" {
		t.Errorf("delta removes %q (old/x goes with old)", got)
	}
	if p.bytes != 15 {
		t.Errorf("delta bytes %d", p.bytes)
	}
	df := p.dockerfile()
	if !strings.Contains(df, `RUN ["rm","-rf","--","/app/was-file","/app/gone","/app/old"]`) || strings.Index(df, "RUN") > strings.Index(df, "COPY") {
		t.Errorf("dockerfile (removal before copy, exec form):\n%s", df)
	}

	// Too deep, or most bytes changed, or no image of the base: a full build.
	if p := planBuild(req, "base", "prev", maxDepth); p.from != "base" || p.depth != 1 || len(p.add) != len(next) {
		t.Errorf("at max depth: from %s depth %d", p.from, p.depth)
	}
	next[1] = file("app/big", "b2", 1000)
	if p := planBuild(req, "base", "prev", 1); p.from != "base" {
		t.Errorf("most content changed: want a fresh image, got a delta on %s", p.from)
	}
	if p := planBuild(&platform.PublishRequest{Tree: next}, "base", "", 0); p.from != "base" || len(p.remove) != 0 {
		t.Errorf("no base release: %+v", p)
	}
}

func TestBuildContext(t *testing.T) {
	content := map[string]string{"h1": "hello\n"}
	p := buildPlan{from: "base", add: []platform.TreeEntry{
		{Path: "d", Dir: true, Mode: 0o750},
		{Path: "d/f", Mode: 0o755, Size: 6, SHA256: "h1"},
		{Path: "l", Link: "d/f", Mode: 0o777},
	}, labels: map[string]string{"plat.release": "r1", "plat.git_sha": `a"b`}}
	var buf bytes.Buffer
	open := func(h string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content[h])), nil }
	if err := p.writeContext(&buf, open); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	got := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
		if h.Name == "Dockerfile" {
			b, _ := io.ReadAll(tr)
			if !strings.Contains(string(b), `LABEL plat.git_sha="a\"b" plat.release="r1"`) {
				t.Errorf("labels not quoted in one step:\n%s", b)
			}
		}
	}
	if h := got["tree/d/"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o750 {
		t.Errorf("dir: %+v", h)
	}
	if h := got["tree/d/f"]; h == nil || h.Mode != 0o755 || h.Size != 6 || h.ModTime.Before(time.Now().Add(-time.Minute)) {
		t.Errorf("file (mode, size, this build's mtime): %+v", h)
	}
	if h := got["tree/l"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "d/f" {
		t.Errorf("symlink: %+v", h)
	}
	// A store that returns fewer bytes than the manifest says is an error.
	content["h1"] = "short"
	if err := p.writeContext(io.Discard, open); err == nil || !strings.Contains(err.Error(), "manifest says 6") {
		t.Errorf("short content: %v", err)
	}
}

// TestDotenvRoundTrip sources the secret environment with a real sh.
func TestDotenvRoundTrip(t *testing.T) {
	vals := map[string]string{"A": `it's "quoted" $HOME ` + "`id`", "B": "line1\nline2", "C": ""}
	cmd := exec.Command("sh", "-c", `set -a; . /dev/stdin; printf '%s|%s|%s' "$A" "$B" "$C"`)
	cmd.Stdin = bytes.NewReader(dotenv(vals))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := vals["A"] + "|" + vals["B"] + "|"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestUpdateConfig(t *testing.T) {
	h := &platform.HealthCheck{HTTP: "/healthz", Interval: 250 * time.Millisecond, Timeout: 2 * time.Second, Retries: 20}
	u := updateConfig(platform.Rollout{Stages: []string{"1", "100%"}, Pause: 3 * time.Second, OnFailure: platform.OnFailureHalt,
		Restart: platform.RestartOverlap, MaxFailures: "1"}, h, 4)
	if u.Parallelism != 1 || u.Delay != 3*time.Second || u.FailureAction != swarm.UpdateFailureActionPause ||
		u.Order != swarm.UpdateOrderStartFirst || u.MaxFailureRatio != 0.25 {
		t.Errorf("%+v", u)
	}
	u = updateConfig(platform.Rollout{Stages: []string{"50%"}, OnFailure: platform.OnFailureRollback, MaxFailures: "10%"}, nil, 3)
	if u.Parallelism != 2 || u.FailureAction != swarm.UpdateFailureActionRollback || u.Order != swarm.UpdateOrderStopFirst || u.MaxFailureRatio != 0.1 {
		t.Errorf("%+v", u)
	}
	if n := firstStage(platform.Rollout{Stages: []string{"100%"}, MaxParallel: 2}, 5); n != 2 {
		t.Errorf("max_parallel wins: %d", n)
	}
	if n := firstStage(platform.Rollout{Stages: []string{"100%"}}, 0); n != 1 {
		t.Errorf("zero replicas: %d", n)
	}
}

func TestHealthcheck(t *testing.T) {
	hc := healthcheck(&platform.HealthCheck{HTTP: "/healthz", Timeout: 1500 * time.Millisecond, Interval: time.Second, Retries: 5})
	if strings.Join(hc.Test, " ") != "CMD curl -fsS -o /dev/null --max-time 1.5 http://127.0.0.1:8000/healthz" || hc.Retries != 5 || hc.Interval != time.Second {
		t.Errorf("http: %+v", hc)
	}
	if hc := healthcheck(&platform.HealthCheck{TCP: true, Port: 9000}); strings.Join(hc.Test, " ") != "CMD bash -c exec 3<>/dev/tcp/127.0.0.1/9000" || hc.Retries != 3 {
		t.Errorf("tcp: %+v", hc)
	}
	if hc := healthcheck(&platform.HealthCheck{Command: []string{"./check", "x y"}}); strings.Join(hc.Test, "|") != "CMD|./check|x y" {
		t.Errorf("command: %+v", hc)
	}
	if healthcheck(nil) != nil {
		t.Error("no health block: no check")
	}
}

func TestFactoryNew(t *testing.T) {
	for _, tc := range []struct {
		values map[string]any
		err    string
	}{
		{map[string]any{"replicas": map[string]string{"web": "three"}}, `replicas.web = "three"`},
		{map[string]any{"replicas": map[string]string{"web": "-1"}}, "want a count"},
		{map[string]any{"registry": "http://127.0.0.1:5000"}, "HOST:PORT"},
		{map[string]any{"port": float64(70000)}, "not a TCP port"},
		{map[string]any{"publish_mode": "mesh"}, `want "ingress" or "host"`},
		{map[string]any{"publish_mode": "host", "port": float64(8080)}, "leave port unset"},
	} {
		_, err := Factory{}.New(platform.ProviderConfig{Type: "swarm", Values: tc.values})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: got %v, want %q", tc.values, err, tc.err)
		}
	}
	p, err := Factory{}.New(platform.ProviderConfig{Type: "swarm", Values: map[string]any{"replicas": map[string]string{"web": "3"}, "registry": "127.0.0.1:5000"}})
	if err != nil {
		t.Fatal(err)
	}
	sp := p.(*Provider)
	n := names{app: "Notes", env: "prod"}
	if sp.replicas("web") != 3 || sp.replicas("worker") != 1 || sp.ref(n, "r7") != "127.0.0.1:5000/plat/notes:prod-r7" {
		t.Errorf("replicas %d/%d, ref %s", sp.replicas("web"), sp.replicas("worker"), sp.ref(n, "r7"))
	}
	if !(Factory{}).Schema().Scheduled {
		t.Error("the schema must say Scheduled")
	}
}

// TestSchedulerConformance runs platformtest's scheduler suite against a
// real single-node swarm and a real registry.
func TestSchedulerConformance(t *testing.T) {
	swarmtest.Need(t)
	registry := swarmtest.Registry(t)
	b := make([]byte, 4)
	rand.Read(b)
	platformtest.TestScheduler(t, platformtest.SchedulerHarness{
		Factory: Factory{},
		Config:  platform.ProviderConfig{Type: "swarm", Values: map[string]any{"registry": registry, "publish_mode": "host", "replicas": map[string]string{"web": "2"}}},
		Env:     &platform.Environment{Name: "conformance"},
		App:     &platform.App{Name: "conf" + hex.EncodeToString(b)},
	})
}

func TestStageCounts(t *testing.T) {
	for _, tc := range []struct {
		stages   []string
		replicas int
		want     string
	}{
		{[]string{"1", "50%", "100%"}, 4, "[1 2 4]"},
		{[]string{"1", "50%"}, 3, "[1 2 3]"},
		{[]string{"1", "50%", "100%"}, 2, "[1 2]"},
		{[]string{"5", "100%"}, 3, "[3]"},
		{nil, 3, "[3]"},
		{[]string{"25%"}, 1, "[1]"},
	} {
		if got := fmt.Sprint(stageCounts(tc.stages, tc.replicas)); got != tc.want {
			t.Errorf("stageCounts(%q, %d) = %s, want %s", tc.stages, tc.replicas, got, tc.want)
		}
	}
	if got := fmt.Sprint(batches([]int{1, 2, 5}, 2)); got != "[[1] [2] [4 5]]" {
		t.Errorf("batches with max_parallel 2: %s", got)
	}
	if got := fmt.Sprint(batches([]int{1, 5}, 0)); got != "[[1] [5]]" {
		t.Errorf("batches: %s", got)
	}
	d := &deploy{p: &Provider{cfg: Config{Replicas: map[string]int{"web": 3}}}, req: &platform.DeployRequest{
		Rollout: platform.Rollout{Stages: []string{"1", "100%"}, Confirm: true}}}
	if d.confirmStages("web") {
		t.Error("no one to ask (Confirm nil): the engine's own update, not stages")
	}
	d.req.Confirm = func(context.Context, string) (bool, error) { return true, nil }
	if !d.confirmStages("web") || d.confirmStages("worker") {
		t.Error("web (3 tasks, 2 stages) asks; worker (1 task, 1 stage) does not")
	}
}

func TestPickTask(t *testing.T) {
	svcs := []platform.ServiceStatus{
		{Name: "plat-a-e-web", Process: "web", Tasks: []platform.TaskStatus{
			{ID: "w1", Slot: 1, Node: "n1", State: "running"},
			{ID: "w2", Slot: 2, Node: "n2", State: "running"},
			{ID: "w3", Slot: 3, Node: "n2", State: "starting"},
		}},
		{Name: "plat-a-e-worker", Process: "worker", Tasks: []platform.TaskStatus{{ID: "k1", Slot: 1, Node: "n2", State: "running"}}},
	}
	for _, tc := range []struct{ process, sel, want, err string }{
		{"", "", "w1", ""},
		{"worker", "", "k1", ""},
		{"", "web.2", "w2", ""},
		{"", "plat-a-e-web.2", "w2", ""},
		{"web", "web.2", "w2", ""},
		{"", "n2", "w2", ""},
		{"worker", "n2", "k1", ""},
		{"", "worker.1", "k1", ""},
		{"worker", "web.1", "", "task web.1 is of process type web, not worker"},
		{"", "web.3", "", "no running task web.3 on e; running: web.1 (node n1), web.2 (node n2)"},
		{"", "n9", "", "--host n9 is neither a task (TYPE.SLOT, as plat status shows) nor a node with a running web task on e"},
		{"worker", "n1", "", "nor a node with a running worker task"},
		{"cron", "", "", `no service runs a process of type "cron" on e`},
	} {
		_, task, err := pickTask(svcs, tc.process, tc.sel, "e")
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %s: err %v, want %q", tc.process, tc.sel, err, tc.err)
			}
		case err != nil || task.ID != tc.want:
			t.Errorf("%s %s: %+v %v, want %s", tc.process, tc.sel, task, err, tc.want)
		}
	}
	if _, _, err := pickTask(nil, "", "", "e"); err == nil || !strings.Contains(err.Error(), "push first") {
		t.Errorf("no services: %v", err)
	}
	e := (&RemoteNodeError{Task: "web.2", Node: "n2", Addr: "10.0.0.12", Manager: "unix:///var/run/docker.sock"}).Error()
	for _, want := range []string{"task web.2 runs on node n2 (10.0.0.12)", "unix:///var/run/docker.sock reaches only its own containers", `node_hosts = { "n2" = "tcp://10.0.0.12:2376" }`, "--host"} {
		if !strings.Contains(e, want) {
			t.Errorf("%q lacks %q", e, want)
		}
	}
	if _, err := (Factory{}).New(platform.ProviderConfig{Values: map[string]any{"node_hosts": map[string]string{"n2": "10.0.0.12"}}}); err == nil || !strings.Contains(err.Error(), "node_hosts.n2") {
		t.Errorf("node_hosts without a scheme: %v", err)
	}
}
