package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/providers/docker"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
	swarmprov "github.com/plat-sh/plat/providers/swarm"
	"github.com/plat-sh/plat/providers/swarm/swarmtest"
)

// taskStatus is a row of `plat status --json` for a swarm environment.
type taskStatus struct {
	Host    string `json:"host"`
	Release string `json:"release"`
	URL     string `json:"url"`
	Machine string `json:"machine"`
	Error   string `json:"error"`
}

func (p *project) swarmStatus(env string) []taskStatus {
	p.t.Helper()
	r := p.mustPlat("--json", "status", env)
	var doc struct {
		Environment string       `json:"environment"`
		Hosts       []taskStatus `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Environment != env {
		p.t.Fatalf("status --json: %v\n%s", err, r)
	}
	return doc.Hosts
}

// assertTasks checks that the web service has n running tasks and the
// worker one, all on release id, and that every web task serves it. A
// task's published port can take a moment after the engine reports it
// running, so the check is retried for up to a minute.
func (p *project) assertTasks(env, service string, web int, id, want string) {
	p.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		last := time.Now().After(deadline)
		err := p.checkTasks(env, service, web, id, want, last)
		if err == nil {
			return
		}
		if last {
			p.t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
}

func (p *project) checkTasks(env, service string, web int, id, want string, lastTry bool) error {
	p.t.Helper()
	rows := p.swarmStatus(env)
	refused := 0
	webs, workers := 0, 0
	for _, r := range rows {
		if r.Release != id {
			return fmt.Errorf("task %s runs %q, want %s: %+v", r.Host, r.Release, id, rows)
		}
		switch {
		case strings.HasPrefix(r.Host, service+"-web."):
			webs++
			port := 0
			fmt.Sscanf(r.URL[strings.LastIndexByte(r.URL, ':')+1:], "%d", &port)
			body, err := getPort(p.t, port, "/")
			if err != nil && strings.Contains(err.Error(), "connection refused") && lastTry {
				// Seen on this machine: a host-mode published port of one
				// task refused for minutes while its container serves (the
				// daemon's port mapping, not plat). Ask the task itself, and
				// require the others to serve through their ports.
				p.t.Logf("%s: published port %s refused; checking inside the task", r.Host, r.URL)
				refused++
				body, err = inTask(r.Host)
			}
			if err != nil || !strings.Contains(body, want) || !strings.Contains(body, "release "+id) {
				return fmt.Errorf("%s (%s) does not serve %q on %s: %v\n%s", r.Host, r.URL, want, id, err, body)
			}
		case strings.HasPrefix(r.Host, service+"-worker."):
			workers++
		}
	}
	if refused >= webs {
		return fmt.Errorf("no web task serves through its published port: %+v", rows)
	}
	if webs != web || workers != 1 {
		return fmt.Errorf("want %d web tasks and 1 worker, got %d and %d: %+v", web, webs, workers, rows)
	}
	return nil
}

// TestSwarmClusterEndToEnd pushes the example app to a single-node swarm
// through a real registry: 3 web replicas and a worker, an incremental
// push that builds and sends one new layer, a health check that fails
// and that the engine rolls back, plat rollback, releases, status, down.
// The same commit pushed to an ssh fleet has the same manifest hash.
func TestSwarmClusterEndToEnd(t *testing.T) {
	c := swarmtest.Need(t)
	registry := swarmtest.Registry(t)
	p := newProject(t)
	b := make([]byte, 4)
	rand.Read(b)
	app := "notes" + hex.EncodeToString(b)
	hcl := filepath.Join(p.dir, "plat.hcl")
	src, _ := os.ReadFile(hcl)
	renamed := strings.Replace(string(src), `app "notes" {`, fmt.Sprintf("app %q {", app), 1)
	// This machine's kernel has no IPVS for the routing mesh: each web
	// task publishes its own port.
	renamed += fmt.Sprintf(`
environment "cluster" {
  provider "swarm" {
    registry     = %q
    replicas     = { web = 3, worker = 1 }
    publish_mode = "host"
  }
  private = "../notes-private/local"
  # No MIGRATE_ON_START: the replicas share the db volume, and the
  # release task (a job on the engine) migrates it once per push.
  env = {
    BIND = "0.0.0.0"
  }
  rollout {
    stages = [1, "100%%"]
  }
}
`, registry)
	os.WriteFile(hcl, []byte(renamed), 0o644)
	os.WriteFile(filepath.Join(p.dir, "Procfile"), []byte("web: exec python3 app.py\nworker: exec sh -c 'while true; do echo worker on $PLAT_RELEASE; sleep 2; done'\n"), 0o644)
	p.git("add", "-A")
	p.git("commit", "-q", "-m", "cluster environment, a worker")
	fleet := sshtest.New(t, 1)
	p.sshEnv(fleet, "")
	t.Cleanup(func() {
		p.plat("down", "cluster", "--destroy")
		p.plat("down", "fleet")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		f := client.Filters{}.Add("label", swarmprov.LabelApp+"="+app)
		if imgs, err := c.API().ImageList(ctx, client.ImageListOptions{Filters: f}); err == nil {
			for _, im := range imgs.Items {
				c.API().ImageRemove(ctx, im.ID, client.ImageRemoveOptions{Force: true})
			}
		}
	})
	service := "plat-" + app + "-cluster"

	// plat up needs nothing but a manager; push before up says what to do.
	if r := p.plat("push", "cluster"); r.code == 0 || !strings.Contains(r.stderr, "plat up cluster") {
		t.Fatalf("push before up: %s", r)
	}
	p.mustPlat("up", "cluster")
	r := p.mustPlat("push", "cluster")
	if !strings.Contains(r.stdout, "in one layer") || !strings.Contains(r.stdout, "pushed to "+registry) || !strings.Contains(r.stdout, "migrated") {
		t.Fatalf("first push: %s", r)
	}
	p.assertTasks("cluster", service, 3, "r1", "1.0.0")

	// The image: tag, labels, and in the registry.
	insp, err := c.API().ImageInspect(context.Background(), registry+"/plat/"+app+":cluster-r1")
	if err != nil {
		t.Fatal(err)
	}
	rel := readRelease(t, p, "cluster", "r1")
	if l := insp.Config.Labels; l[swarmprov.LabelRelease] != "r1" || l[swarmprov.LabelManifest] != rel.ManifestHash || l[swarmprov.LabelGitSHA] != rel.GitSHA {
		t.Fatalf("image labels %v, release %+v", insp.Config.Labels, rel)
	}
	resp, err := http.Get("http://" + registry + "/v2/plat/" + app + "/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	var tags struct{ Tags []string }
	json.NewDecoder(resp.Body).Decode(&tags)
	resp.Body.Close()
	if strings.Join(tags.Tags, ",") != "cluster-r1" {
		t.Fatalf("registry tags: %v", tags.Tags)
	}

	// The same commit on an ssh host: the same content.
	p.mustPlat("push", "fleet")
	if fr := readRelease(t, p, "fleet", "r1"); fr.ManifestHash != rel.ManifestHash || fr.GitSHA != rel.GitSHA {
		t.Fatalf("manifest hash %s on fleet, %s on cluster", fr.ManifestHash, rel.ManifestHash)
	}

	// A change: one new layer built on r1's image, one layer sent.
	p.write("VERSION", "1.0.1\n")
	r = p.mustPlat("push", "cluster")
	if !strings.Contains(r.stdout, "on "+registry+"/plat/"+app+":cluster-r1: one layer of 2 changed paths") ||
		!strings.Contains(r.stdout, "1 layers sent") {
		t.Fatalf("incremental push: %s", r)
	}
	p.assertTasks("cluster", service, 3, "r2", "1.0.1")

	// Logs and exec reach the tasks.
	if r := p.mustPlat("logs", "cluster", "--role", "worker", "-n", "5"); !strings.Contains(r.stdout, "[worker.1] worker on r2") {
		t.Fatalf("logs: %s", r)
	}
	if r := p.mustPlat("exec", "cluster", "--", "sh", "-c", "cat VERSION; stat -c %a settings.json"); r.stdout != "1.0.1\n600\n" {
		t.Fatalf("exec: %s", r)
	}

	// A health check that fails: the engine rolls web back, plat exits 1
	// naming the service, every task is back on r2.
	body, _ := os.ReadFile(filepath.Join(p.dir, "app.py"))
	broken := strings.Replace(string(body), `return self.send(200, "text/plain", b"ok\n")`, `return self.send(500, "text/plain", b"broken\n")`, 1)
	if broken == string(body) {
		t.Fatal("app.py has no /healthz answer to break")
	}
	p.write("app.py", broken)
	r = p.plat("push", "cluster")
	if r.code != 1 || !strings.Contains(r.stderr, service+"-web") || !strings.Contains(r.stderr, "rolled back") {
		t.Fatalf("failing health check: %s", r)
	}
	p.assertTasks("cluster", service, 3, "r2", "1.0.1")

	// plat rollback goes to the release before the current one.
	r = p.mustPlat("rollback", "cluster")
	if !strings.Contains(r.stdout, "exists") {
		t.Fatalf("rollback rebuilt the image: %s", r)
	}
	p.assertTasks("cluster", service, 3, "r1", "1.0.0")
	rels := p.mustPlat("releases", "cluster").stdout
	for _, want := range []string{"r1 *", "r2 ", "r3 ", "rolled back", "rollback"} {
		if !strings.Contains(rels, want) {
			t.Fatalf("releases lack %q:\n%s", want, rels)
		}
	}

	// down stops every task; up brings them back; down --destroy removes
	// what plat made.
	p.mustPlat("down", "cluster")
	for _, row := range p.swarmStatus("cluster") {
		if strings.HasPrefix(row.Host, service+"-web.") {
			t.Fatalf("a web task runs after down: %+v", row)
		}
	}
	p.mustPlat("up", "cluster")
	waitFor(t, 2*time.Minute, func() bool { return len(p.swarmStatus("cluster")) == 4 })
	p.mustPlat("down", "cluster", "--destroy")
	ctx := context.Background()
	f := client.Filters{}.Add("label", swarmprov.LabelApp+"="+app)
	svcs, _ := c.API().ServiceList(ctx, client.ServiceListOptions{Filters: f})
	secrets, _ := c.API().SecretList(ctx, client.SecretListOptions{Filters: f})
	nets, _ := c.API().NetworkList(ctx, client.NetworkListOptions{Filters: f})
	vols, _ := c.API().VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if len(svcs.Items)+len(secrets.Items)+len(nets.Items)+len(vols.Items) > 0 {
		t.Fatalf("left after down --destroy: %d services, %d secrets, %d networks, %d volumes", len(svcs.Items), len(secrets.Items), len(nets.Items), len(vols.Items))
	}
}

// inTask fetches / from inside the running container of a task named
// "<service>.<slot>" (the docker CLI; single-node swarm).
func inTask(task string) (string, error) {
	i := strings.LastIndexByte(task, '.')
	out, err := exec.Command("docker", "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+task[:i],
		"--filter", "name="+task+".").Output()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) != 1 {
		return "", fmt.Errorf("container of %s: %v %q", task, err, out)
	}
	b, err := exec.Command("docker", "exec", ids[0], "curl", "-fsS", "--max-time", "5", "http://127.0.0.1:8000/").CombinedOutput()
	return string(b), err
}

type storedRelease struct {
	GitSHA       string `json:"git_sha"`
	ManifestHash string `json:"manifest_hash"`
}

func readRelease(t *testing.T, p *project, env, id string) storedRelease {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, ".plat", "store", "envs", env, id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r storedRelease
	if err := json.Unmarshal(b, &r); err != nil || r.ManifestHash == "" {
		t.Fatalf("%s %s: %v %s", env, id, err, b)
	}
	return r
}

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not true within %s", d)
		}
		time.Sleep(time.Second)
	}
}

// swarmCluster renames the example app uniquely (engines are shared),
// appends an environment "cluster" whose provider block is of type
// provider with the given extra attributes and rollout block, gives the
// app a worker, commits, and removes everything at cleanup. It returns
// the services' name prefix.
func (p *project) swarmCluster(c *docker.Client, provider, registry, extra, rollout string) (app, service string) {
	p.t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	app = "notes" + hex.EncodeToString(b)
	hcl := filepath.Join(p.dir, "plat.hcl")
	src, _ := os.ReadFile(hcl)
	renamed := strings.Replace(string(src), `app "notes" {`, fmt.Sprintf("app %q {", app), 1)
	renamed += fmt.Sprintf(`
environment "cluster" {
  provider %q {
    registry     = %q
    replicas     = { web = 3, worker = 1 }
    publish_mode = "host"
%s  }
  private = "../notes-private/local"
  env = {
    BIND = "0.0.0.0"
  }
  rollout {
%s  }
}
`, provider, registry, extra, rollout)
	os.WriteFile(hcl, []byte(renamed), 0o644)
	os.WriteFile(filepath.Join(p.dir, "Procfile"), []byte("web: exec python3 app.py\nworker: exec sh -c 'while true; do echo worker on $PLAT_RELEASE; sleep 2; done'\n"), 0o644)
	p.git("add", "-A")
	p.git("commit", "-q", "-m", "cluster environment, a worker")
	p.t.Cleanup(func() {
		p.plat("down", "cluster", "--destroy")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		f := client.Filters{}.Add("label", swarmprov.LabelApp+"="+app)
		if imgs, err := c.API().ImageList(ctx, client.ImageListOptions{Filters: f}); err == nil {
			for _, im := range imgs.Items {
				c.API().ImageRemove(ctx, im.ID, client.ImageRemoveOptions{Force: true})
			}
		}
	})
	return app, "plat-" + app + "-cluster"
}

// webReleases counts the web tasks per release in plat status.
func (p *project) webReleases(service string) map[string]int {
	p.t.Helper()
	out := map[string]int{}
	for _, r := range p.swarmStatus("cluster") {
		if strings.HasPrefix(r.Host, service+"-web.") {
			out[r.Release]++
		}
	}
	return out
}

// waitExit waits (bounded by d) for plat on the terminal to exit.
func (tm *ptyTerm) waitExit(d time.Duration) int {
	tm.t.Helper()
	done := make(chan error, 1)
	go func() { done <- tm.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		} else if err != nil {
			tm.t.Fatal(err)
		}
		return 0
	case <-time.After(d):
		tm.t.Fatalf("plat did not exit within %s; the terminal shows:\n%q", d, tm.screen())
	}
	return 0
}

// TestSwarmRolloutConfirm: pause = "confirm" on the engine. A push that
// no one can answer is refused before anything changes (--yes rolls out
// every stage); on a terminal plat updates the first stage's task, holds
// the engine there and asks; "n" puts every task back on the previous
// release and exits 1 naming the service; "y" finishes the rollout; with
// on_failure = "halt", "n" leaves the tasks where they are.
func TestSwarmRolloutConfirm(t *testing.T) {
	c := swarmtest.Need(t)
	registry := swarmtest.Registry(t)
	p := newProject(t)
	_, service := p.swarmCluster(c, "swarm", registry, "", `    stages = [1, "100%"]
    pause  = "confirm"
`)
	p.mustPlat("up", "cluster")
	r := p.plat("push", "cluster")
	if r.code != 2 || !strings.Contains(r.stderr, `pause = "confirm"`) || !strings.Contains(r.stderr, "not interactive") ||
		!strings.Contains(r.stderr, "--yes") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("want exit 2 asking for --yes: %s", r)
	}
	if rows := p.swarmStatus("cluster"); len(rows) != 0 {
		t.Fatalf("a refused push started tasks: %+v", rows)
	}
	p.mustPlat("push", "cluster", "--yes")
	p.assertTasks("cluster", service, 3, "r1", "1.0.0")

	// "n": back to r1.
	p.write("VERSION", "1.0.1\n")
	tm := p.startTerm(nil, "push", "cluster")
	q := regexp.QuoteMeta("Continue with stage 2/2 of r2 on service " + service + "-web (1 of 3 tasks run it)? [y/N]")
	tm.expect(0, q)
	// The engine holds the update after the first stage's task.
	if got := p.webReleases(service); got["r2"] != 1 || got["r1"] != 2 {
		t.Fatalf("at the question, web tasks per release: %v, want 1 on r2 and 2 on r1", got)
	}
	tm.send("n\r")
	if code := tm.waitExit(5 * time.Minute); code != 1 || !strings.Contains(tm.screen(), service+"-web") || !strings.Contains(tm.screen(), "stopped at the user's request") {
		t.Fatalf("after n: exit %d, want 1 naming the service:\n%s", code, tm.screen())
	}
	p.assertTasks("cluster", service, 3, "r1", "1.0.0")
	if rels := p.mustPlat("releases", "cluster").stdout; !strings.Contains(rels, "r2") || !strings.Contains(rels, "rolled back") {
		t.Fatalf("releases after n:\n%s", rels)
	}

	// "y": every task on the new release.
	tm = p.startTerm(nil, "push", "cluster")
	tm.expect(0, regexp.QuoteMeta("Continue with stage 2/2 of r3 on service "+service+"-web (1 of 3 tasks run it)? [y/N]"))
	tm.send("y\r")
	if code := tm.waitExit(5 * time.Minute); code != 0 {
		t.Fatalf("after y: exit %d:\n%s", code, tm.screen())
	}
	p.assertTasks("cluster", service, 3, "r3", "1.0.1")

	// With on_failure = "halt", "n" leaves the first stage's task on the
	// new release and the engine holds the others; a push with --yes
	// finishes.
	hcl := filepath.Join(p.dir, "plat.hcl")
	src, _ := os.ReadFile(hcl)
	halt := strings.Replace(string(src), `    pause  = "confirm"`, "    pause  = \"confirm\"\n    on_failure = \"halt\"", 1)
	os.WriteFile(hcl, []byte(halt), 0o644)
	p.write("VERSION", "1.0.2\n")
	tm = p.startTerm(nil, "push", "cluster")
	tm.expect(0, regexp.QuoteMeta("Continue with stage 2/2 of r4 on service "+service+"-web (1 of 3 tasks run it)? [y/N]"))
	tm.send("n\r")
	if code := tm.waitExit(5 * time.Minute); code != 1 || !strings.Contains(tm.screen(), "halted at the user's request") {
		t.Fatalf("after n with halt: exit %d:\n%s", code, tm.screen())
	}
	time.Sleep(10 * time.Second) // the engine does not go on by itself
	if got := p.webReleases(service); got["r4"] != 1 || got["r3"] != 2 {
		t.Fatalf("after a halt, web tasks per release: %v, want 1 on r4 and 2 on r3", got)
	}
	p.mustPlat("push", "cluster", "--yes")
	p.assertTasks("cluster", service, 3, "r5", "1.0.2")
}

// TestSwarmExecSelectsTask: plat exec --host picks a task by the name plat
// status shows (web.2, or the service's name and slot) or by node, and a
// task is reached through its node's Docker daemon (node_hosts). This
// machine has one node, so the daemon of "another" node is this one under
// node_hosts (reached, as a remote one would be, by its address), and an
// unreachable node is a node_hosts address nothing listens on; a real
// second node (a task whose container another daemon runs) cannot be
// made here. Then on_failure = "halt" on the engine.
func TestSwarmExecSelectsTask(t *testing.T) {
	c := swarmtest.Need(t)
	registry := swarmtest.Registry(t)
	p := newProject(t)
	_, service := p.swarmCluster(c, "swarm", registry, "", "")
	p.mustPlat("up", "cluster")
	p.mustPlat("push", "cluster")
	p.assertTasks("cluster", service, 3, "r1", "1.0.0")
	node := ""
	for _, r := range p.swarmStatus("cluster") {
		node = r.Machine
	}
	hostOf := func(args ...string) string {
		t.Helper()
		r := p.mustPlat(append(append([]string{"exec", "cluster"}, args...), "--", "sh", "-c", `echo "$PLAT_HOST"`)...)
		return strings.TrimSpace(r.stdout)
	}
	if h := hostOf("--host", "web.2"); !strings.HasPrefix(h, service+"-web.2.") {
		t.Errorf("--host web.2 ran in %q", h)
	}
	if h := hostOf("--host", service+"-web.3"); !strings.HasPrefix(h, service+"-web.3.") {
		t.Errorf("--host %s-web.3 ran in %q", service, h)
	}
	if h := hostOf("--host", node, "--role", "worker"); !strings.HasPrefix(h, service+"-worker.1.") {
		t.Errorf("--host %s --role worker ran in %q", node, h)
	}
	if r := p.plat("exec", "cluster", "--host", "web.9", "--", "true"); r.code == 0 || !strings.Contains(r.stderr, "no running task web.9") ||
		!strings.Contains(r.stderr, "web.1 (node "+node+")") {
		t.Errorf("--host web.9: %s", r)
	}
	if r := p.plat("exec", "cluster", "--host", "web.1", "--host", "web.2", "--", "true"); r.code != 2 || !strings.Contains(r.stderr, "one task") {
		t.Errorf("two --host: %s", r)
	}

	// The node's daemon by its address in node_hosts.
	hcl := filepath.Join(p.dir, "plat.hcl")
	orig, _ := os.ReadFile(hcl)
	t.Cleanup(func() { os.WriteFile(hcl, orig, 0o644) })
	withNode := func(addr string) {
		s := strings.Replace(string(orig), `publish_mode = "host"`, fmt.Sprintf("publish_mode = \"host\"\n    node_hosts   = { %q = %q }", node, addr), 1)
		if s == string(orig) {
			t.Fatal("no provider block to add node_hosts to")
		}
		os.WriteFile(hcl, []byte(s), 0o644)
	}
	withNode("unix:///var/run/docker.sock")
	if h := hostOf("--host", "web.1"); !strings.HasPrefix(h, service+"-web.1.") {
		t.Errorf("through node_hosts: ran in %q", h)
	}
	withNode("tcp://127.0.0.1:1")
	r := p.plat("exec", "cluster", "--host", "web.1", "--", "true")
	if r.code == 0 || !strings.Contains(r.stderr, "task web.1 runs on node "+node+": its Docker daemon (node_hosts, tcp://127.0.0.1:1)") {
		t.Errorf("unreachable node daemon: %s", r)
	}
	os.WriteFile(hcl, orig, 0o644)

	// on_failure = "halt": a failing health check pauses the web update
	// where it failed (web tasks not reached yet and the worker stay on r1),
	// plat exits 1 naming the service; a fixed push finishes.
	i := strings.LastIndex(string(orig), "  rollout {\n") // the cluster's, appended last
	if i < 0 {
		t.Fatal("no rollout block to set on_failure in")
	}
	halted := string(orig[:i]) + "  rollout {\n    stages     = [1, \"100%\"]\n    on_failure = \"halt\"\n" + string(orig[i+len("  rollout {\n"):])
	os.WriteFile(hcl, []byte(halted), 0o644)
	body, _ := os.ReadFile(filepath.Join(p.dir, "app.py"))
	broken := strings.Replace(string(body), `return self.send(200, "text/plain", b"ok\n")`, `return self.send(500, "text/plain", b"broken\n")`, 1)
	if broken == string(body) {
		t.Fatal("app.py has no /healthz answer to break")
	}
	p.write("app.py", broken)
	r = p.plat("push", "cluster")
	if r.code != 1 || !strings.Contains(r.stderr, service+"-web") || !strings.Contains(r.stderr, "paused") {
		t.Fatalf("failing health check with halt: %s", r)
	}
	// The engine pauses when it sees the failure; it may have started the
	// next slot's task by then, so how many stay on r1 is its timing.
	si, err := c.API().ServiceInspect(context.Background(), service+"-web", client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := si.Service.UpdateStatus; u == nil || u.State != "paused" {
		t.Errorf("after the halt, the web update is %+v, want paused", u)
	}
	if got := p.webReleases(service); got["r1"] < 1 {
		t.Errorf("after the halt, web tasks per release: %v, want some not updated (on r1)", got)
	}
	for _, row := range p.swarmStatus("cluster") {
		if strings.HasPrefix(row.Host, service+"-worker.") && row.Release != "r1" {
			t.Errorf("halt updated the worker: %+v", row)
		}
	}
	p.write("app.py", string(body))
	p.mustPlat("push", "cluster")
	p.assertTasks("cluster", service, 3, "r3", "1.0.0")
}

// TestSwarmUpNeedsManager: plat creates no swarm. On a daemon in no swarm,
// up and push fail, saying how to make a manager.
func TestSwarmUpNeedsManager(t *testing.T) {
	c := swarmtest.NoSwarm(t)
	p := newProject(t)
	p.swarmCluster(c, "swarm", "127.0.0.1:5000", "", "")
	for _, cmd := range []string{"up", "push", "status"} {
		r := p.plat(cmd, "cluster")
		if r.code == 0 || !strings.Contains(r.stderr, "is not a swarm manager (swarm: inactive): plat creates no swarm") ||
			!strings.Contains(r.stderr, "docker swarm init --advertise-addr 127.0.0.1") {
			t.Errorf("%s without a swarm: %s", cmd, r)
		}
	}
	if info, err := c.API().Info(context.Background(), client.InfoOptions{}); err != nil || info.Info.Swarm.LocalNodeState != "inactive" {
		t.Errorf("after the commands the daemon's swarm is %v (%v), want inactive", info.Info.Swarm.LocalNodeState, err)
	}
}

// TestSwarmSameManifestAsHostProviders: one commit of the example pushed
// to laptop (docker containers), an ssh fleet and cluster (swarm, through
// the registry) is one release content: the same manifest hash and git
// sha everywhere, and the swarm image carries that hash.
func TestSwarmSameManifestAsHostProviders(t *testing.T) {
	c := swarmtest.Need(t)
	registry := swarmtest.Registry(t)
	p := newProject(t)
	l := &laptop{project: p, c: c}
	// After the swarm's cleanup (the overlay network carries the app's
	// label too).
	t.Cleanup(func() {
		p.plat("down", "laptop", "--destroy")
		l.removeByLabel()
	})
	app, service := p.swarmCluster(c, "swarm", registry, "", "")
	l.app = app
	fleet := sshtest.New(t, 1)
	p.sshEnv(fleet, "")
	t.Cleanup(func() { p.plat("down", "fleet") })
	// Like for like: the private settings are per environment, and fleet
	// and cluster use the local ones.
	hcl := filepath.Join(p.dir, "plat.hcl")
	src, _ := os.ReadFile(hcl)
	withPrivate := strings.Replace(string(src), "environment \"laptop\" {\n", "environment \"laptop\" {\n  private = \"../notes-private/local\"\n", 1)
	if withPrivate == string(src) {
		t.Fatal("plat.hcl has no laptop environment")
	}
	os.WriteFile(hcl, []byte(withPrivate), 0o644)
	p.git("commit", "-q", "-am", "laptop with the local private settings")

	p.mustPlat("up", "laptop")
	p.mustPlat("push", "laptop")
	p.mustPlat("push", "fleet")
	p.mustPlat("up", "cluster")
	p.mustPlat("push", "cluster")
	p.assertTasks("cluster", service, 3, "r1", "1.0.0")
	head := strings.TrimSpace(gitOut(t, p.dir, "rev-parse", "HEAD"))
	hashes := map[string]string{}
	for _, env := range []string{"laptop", "fleet", "cluster"} {
		rel := readRelease(t, p, env, "r1")
		if rel.GitSHA != head {
			t.Errorf("%s r1 was built from %s, want HEAD %s", env, rel.GitSHA, head)
		}
		hashes[env] = rel.ManifestHash
	}
	if hashes["laptop"] != hashes["fleet"] || hashes["fleet"] != hashes["cluster"] {
		t.Fatalf("one commit, three manifest hashes: %v", hashes)
	}
	insp, err := c.API().ImageInspect(context.Background(), registry+"/plat/"+app+":cluster-r1")
	if err != nil {
		t.Fatal(err)
	}
	if got := insp.Config.Labels[swarmprov.LabelManifest]; got != hashes["cluster"] {
		t.Errorf("the image's manifest label is %s, the release's hash %s", got, hashes["cluster"])
	}
}
