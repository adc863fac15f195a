package plugins_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins"
	"github.com/plat-sh/plat/providers/swarm/swarmtest"
)

// TestSchedulerConformanceThroughPlugin runs the scheduler suite on the
// real swarm provider served as a plugin process (plat-provider-swarmplug):
// every Publish, Deploy, Inspect, Logs and Exec crosses the gRPC boundary
// and reaches a real single-node swarm and registry. It goes through
// plugins.Conformance, which is `plat plugins test`.
func TestSchedulerConformanceThroughPlugin(t *testing.T) {
	swarmtest.Need(t)
	registry := swarmtest.Registry(t)
	var out bytes.Buffer
	cfg := platform.ProviderConfig{Values: map[string]any{"registry": registry, "publish_mode": "host", "replicas": map[string]string{"web": "2"}}}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	err := plugins.Conformance(ctx, plugin("swarmplug"), cfg, nil, &out)
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"engine provider: the scheduler checks",
		"--- PASS: scheduler/publish",
		"--- PASS: scheduler/deploy",
		"--- PASS: scheduler/exec",
		"--- PASS: scheduler/logs",
		"--- PASS: scheduler/rollback",
		"--- PASS: scheduler/down",
		"0 failed, 0 skipped",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestOldPluginIsAHostProvider: a plugin built before the scheduler RPCs
// (plat-provider-oldv1 serves only the first v1 methods) loads, is
// reported as no engine provider, and passes the host provider suite.
func TestOldPluginIsAHostProvider(t *testing.T) {
	c := open(t, "oldv1")
	if c.Factory().Schema().Scheduled {
		t.Error("an old plugin's schema says scheduled")
	}
	p, err := c.Factory().New(platform.ProviderConfig{Type: "oldv1", Values: map[string]any{"root": t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(platform.Scheduler); ok {
		t.Error("an old plugin's provider is a platform.Scheduler")
	}
	if _, ok := p.(platform.Provisioner); !ok {
		t.Error("an old plugin's provider lost its Provisioner ability")
	}
	var out bytes.Buffer
	err = plugins.Conformance(testCtx(t), plugin("oldv1"), platform.ProviderConfig{Values: map[string]any{"root": t.TempDir()}}, nil, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "0 failed, 0 skipped") || strings.Contains(out.String(), "scheduler/") {
		t.Errorf("conformance of an old plugin:\n%s", out.String())
	}
}

// TestSchedulerRPCMissing: a plugin that declares the ability but has no
// engine RPCs (the old plugin's service serving the swarm provider) fails
// each call with an error that names the plugin, the call and the fix.
func TestSchedulerRPCMissing(t *testing.T) {
	t.Setenv("PLAT_TEST_OLDV1_FACTORY", "swarm")
	c := open(t, "oldv1")
	p, err := c.Factory().New(platform.ProviderConfig{Type: "oldv1"})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := p.(platform.Scheduler)
	if !ok {
		t.Fatal("the provider declared the scheduler ability but is no platform.Scheduler")
	}
	_, err = s.Inspect(testCtx(t), &platform.InspectRequest{App: &platform.App{Name: "a"}, Env: &platform.Environment{Name: "e"}})
	for _, want := range []string{"plugin oldv1: inspect:", "does not implement inspect", "rebuild it with a current plugins/sdk"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
	err = s.Exec(testCtx(t), &platform.ScheduledExecRequest{App: &platform.App{Name: "a"}, Env: &platform.Environment{Name: "e"}, Command: &platform.Command{Args: []string{"true"}}})
	if err == nil || !strings.Contains(err.Error(), "does not implement exec") {
		t.Errorf("exec: %v", err)
	}
}

// fakeScheduler records what crosses the boundary. It stands in for an
// engine only in this fast test of the protocol's mechanics (content
// reads, confirmations, errors, stdin); the real engine runs the same
// calls in TestSchedulerConformanceThroughPlugin.
type fakeScheduler struct {
	mu       sync.Mutex
	content  map[string]string // sha → what Publish read
	deployed *platform.DeployRequest
	answers  []bool
}

type fakeFactory struct{ s *fakeScheduler }

func (f fakeFactory) Schema() platform.Schema { return platform.Schema{Scheduled: true} }
func (f fakeFactory) New(platform.ProviderConfig) (platform.Provider, error) {
	return f.s, nil
}

func (s *fakeScheduler) Targets(context.Context, *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	return nil, errors.New("no hosts")
}

func (s *fakeScheduler) Publish(ctx context.Context, req *platform.PublishRequest) (*platform.PublishResponse, error) {
	req.Progress("building " + req.Release.ID)
	// Two files open at once, read interleaved in small pieces.
	var rs []io.ReadCloser
	var files []platform.TreeEntry
	for _, e := range req.Tree {
		if e.SHA256 != "" {
			r, err := req.Open(e.SHA256)
			if err != nil {
				return nil, err
			}
			rs, files = append(rs, r), append(files, e)
		}
	}
	got := make([]bytes.Buffer, len(rs))
	for open := len(rs); open > 0; {
		open = 0
		for i, r := range rs {
			b := make([]byte, 1000)
			n, err := r.Read(b)
			got[i].Write(b[:n])
			if err == nil {
				open++
			} else if err != io.EOF {
				return nil, err
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range rs {
		r.Close()
		s.content[files[i].SHA256] = got[i].String()
	}
	if r, _ := req.Open("missing"); r != nil {
		if _, err := r.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "no such content") {
			return nil, fmt.Errorf("reading missing content: %v", err)
		}
		r.Close()
	}
	return &platform.PublishResponse{Artifact: "img:" + req.Release.ID + ":" + req.Base, Note: "built"}, nil
}

func (s *fakeScheduler) Deploy(ctx context.Context, req *platform.DeployRequest) (*platform.DeployResponse, error) {
	s.mu.Lock()
	s.deployed = req
	s.mu.Unlock()
	resp := &platform.DeployResponse{Services: []platform.ServiceStatus{{Name: "svc-web", Process: "web", Release: req.Release.ID, Replicas: 3, Running: 3,
		Tasks: []platform.TaskStatus{{ID: "t1", Slot: 1, Node: "n1", Release: req.Release.ID, State: "running"}}}}, URLs: map[string]string{"web": "http://x"}}
	if req.Rollout.Confirm && req.Confirm != nil {
		for i := 2; i <= 3; i++ {
			yes, err := req.Confirm(ctx, fmt.Sprintf("Continue with stage %d/3?", i))
			if err != nil {
				return resp, err
			}
			s.mu.Lock()
			s.answers = append(s.answers, yes)
			s.mu.Unlock()
			if !yes {
				return resp, &platform.RolloutError{Service: "svc-web", State: "rolled back", Reason: "stopped at the user's request"}
			}
		}
	}
	if req.Event == "fail" {
		return resp, errors.New("release task migrate failed")
	}
	return resp, nil
}

func (s *fakeScheduler) Inspect(context.Context, *platform.InspectRequest) (*platform.InspectResponse, error) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	return &platform.InspectResponse{History: []platform.Deployment{{Event: "deploy", Release: "r1", Time: at, Outcome: "ok"}}}, nil
}

func (s *fakeScheduler) Logs(_ context.Context, req *platform.LogsRequest) error {
	fmt.Fprintf(req.Output, "[web.1] lines=%d follow=%v %s\n", req.Lines, req.Follow, strings.Join(req.Processes, ","))
	return nil
}

func (s *fakeScheduler) Exec(_ context.Context, req *platform.ScheduledExecRequest) error {
	in, _ := io.ReadAll(req.Command.Stdin)
	fmt.Fprintf(req.Command.Stdout, "%s %s %v %s", req.Process, req.Task, req.Command.Args, in)
	fmt.Fprint(req.Command.Stderr, "err")
	return &platform.ExitError{Code: 3}
}

func (s *fakeScheduler) Up(context.Context, *platform.UpRequest) (*platform.UpResponse, error) {
	return &platform.UpResponse{}, nil
}

func (s *fakeScheduler) Down(context.Context, *platform.DownRequest) (*platform.DownResponse, error) {
	return &platform.DownResponse{}, nil
}

func TestSchedulerProtocol(t *testing.T) {
	fake := &fakeScheduler{content: map[string]string{}}
	c, err := plugins.InProcess(testCtx(t), "fake", fakeFactory{fake})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Factory().Schema().Scheduled {
		t.Error("Scheduled does not cross the boundary")
	}
	p, err := c.Factory().New(platform.ProviderConfig{Type: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := p.(platform.Scheduler)
	if _, prov := p.(platform.Provisioner); !ok || !prov {
		t.Fatalf("%T: want a Scheduler and Provisioner", p)
	}
	ctx := testCtx(t)
	app, env := &platform.App{Name: "a", LinkedDirs: []string{"uploads"}}, &platform.Environment{Name: "e"}

	t.Run("publish reads content in chunks", func(t *testing.T) {
		big := make([]byte, 700<<10) // three content chunks
		rand.Read(big)
		files := map[string][]byte{}
		entry := func(path string, b []byte) platform.TreeEntry {
			sum := sha256.Sum256(b)
			h := hex.EncodeToString(sum[:])
			files[h] = b
			return platform.TreeEntry{Path: path, Mode: 0o644, Size: int64(len(b)), SHA256: h}
		}
		tree := []platform.TreeEntry{{Path: "d", Dir: true, Mode: 0o755}, entry("d/big", big), entry("small", []byte("hi\n")), {Path: "l", Link: "small", Mode: 0o777}}
		var progress []string
		resp, err := s.Publish(ctx, &platform.PublishRequest{App: app, Env: env, Release: platform.ReleaseRef{ID: "r2"}, Tree: tree, Base: "r1",
			Open: func(h string) (io.ReadCloser, error) {
				b, ok := files[h]
				if !ok {
					return nil, errors.New("no such content")
				}
				return io.NopCloser(bytes.NewReader(b)), nil
			},
			Progress: func(l string) { progress = append(progress, l) }})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Artifact != "img:r2:r1" || resp.Note != "built" || strings.Join(progress, "|") != "building r2" {
			t.Errorf("resp %+v progress %q", resp, progress)
		}
		for h, b := range files {
			if fake.content[h] != string(b) {
				t.Errorf("content of %s: %d bytes arrived, want %d", h[:8], len(fake.content[h]), len(b))
			}
		}
	})

	t.Run("deploy asks between stages and carries a rollout error", func(t *testing.T) {
		var asked []string
		req := &platform.DeployRequest{App: app, Env: env, Release: platform.ReleaseRef{ID: "r2", Time: time.Unix(1700000000, 0).UTC()}, Artifact: "img",
			Processes: map[string]string{"web": "serve"}, Secrets: map[string]string{"K": "v"},
			Private: []platform.PrivateFile{{Path: "p", Mode: 0o600, Content: []byte("x")}},
			Tasks:   []platform.Task{{Name: "migrate", When: platform.PhaseRelease, Run: []string{"m"}, Timeout: time.Minute}},
			Health:  &platform.HealthCheck{HTTP: "/h", Interval: 250 * time.Millisecond, Retries: 4},
			Rollout: platform.Rollout{Stages: []string{"1", "2", "100%"}, Confirm: true, OnFailure: platform.OnFailureRollback, Pause: 2 * time.Second},
			Event:   "deploy",
			Confirm: func(_ context.Context, q string) (bool, error) {
				asked = append(asked, q)
				return len(asked) < 2, nil
			}}
		resp, err := s.Deploy(ctx, req)
		var re *platform.RolloutError
		if !errors.As(err, &re) || re.Service != "svc-web" || !strings.Contains(err.Error(), "plugin fake: deploy:") {
			t.Fatalf("err = %v, want a *RolloutError from plugin fake", err)
		}
		if resp == nil || len(resp.Services) != 1 || resp.Services[0].Tasks[0].Node != "n1" || resp.URLs["web"] != "http://x" {
			t.Errorf("a failed deploy's services: %+v", resp)
		}
		if strings.Join(asked, "|") != "Continue with stage 2/3?|Continue with stage 3/3?" || fmt.Sprint(fake.answers) != "[true false]" {
			t.Errorf("asked %q, the plugin got %v", asked, fake.answers)
		}
		d := fake.deployed
		if d.Release.Time != req.Release.Time || d.Health.Interval != req.Health.Interval || d.Rollout.Pause != 2*time.Second || !d.Rollout.Confirm ||
			d.Tasks[0].Timeout != time.Minute || d.Secrets["K"] != "v" || d.Private[0].Mode != 0o600 || d.App.LinkedDirs[0] != "uploads" {
			t.Errorf("deploy request arrived as %+v", d)
		}
		// No Confirm: the plugin is told it cannot ask.
		req.Confirm, req.Event = nil, "fail"
		_, err = s.Deploy(ctx, req)
		if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), "release task migrate failed") {
			t.Errorf("plain failure: %v", err)
		}
		if fake.deployed.Confirm != nil {
			t.Error("the plugin got a Confirm though plat cannot ask")
		}
	})

	t.Run("inspect, logs, exec", func(t *testing.T) {
		insp, err := s.Inspect(ctx, &platform.InspectRequest{App: app, Env: env})
		if err != nil || len(insp.History) != 1 || !insp.History[0].Time.Equal(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("inspect: %+v, %v", insp, err)
		}
		var logs bytes.Buffer
		if err := s.Logs(ctx, &platform.LogsRequest{App: app, Env: env, Lines: 5, Follow: true, Processes: []string{"web"}, Output: &logs}); err != nil ||
			logs.String() != "[web.1] lines=5 follow=true web\n" {
			t.Errorf("logs %q, %v", logs.String(), err)
		}
		var out, errb bytes.Buffer
		err = s.Exec(ctx, &platform.ScheduledExecRequest{App: app, Env: env, Process: "web", Task: "web.2",
			Command: &platform.Command{Args: []string{"cat"}, Stdin: strings.NewReader("in"), Stdout: &out, Stderr: &errb}})
		if platform.ExitCode(err) != 3 || out.String() != "web web.2 [cat] in" || errb.String() != "err" {
			t.Errorf("exec: %v, out %q, err %q", err, out.String(), errb.String())
		}
		err = s.Exec(ctx, &platform.ScheduledExecRequest{App: app, Env: env, Command: &platform.Command{Args: []string{"sh"}, TTY: &platform.TTY{}}})
		if !errors.Is(err, platform.ErrNoTTY) {
			t.Errorf("exec -t: %v, want ErrNoTTY", err)
		}
	})
}
