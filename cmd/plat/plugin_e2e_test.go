package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
	swarmprov "github.com/plat-sh/plat/providers/swarm"
	"github.com/plat-sh/plat/providers/swarm/swarmtest"
)

// pluginEnv installs the example plugin into the project and appends an
// environment "dirs" whose hosts are directories it manages.
func (p *project) pluginEnv(extra string) (root string, ports []int) {
	p.t.Helper()
	r := p.mustPlat("plugins", "install", filepath.Join(mustAbs(p.t, "../../plugins/example/plat-provider-dirs")))
	if !strings.Contains(r.stdout, "installed dirs") {
		p.t.Fatalf("install: %s", r)
	}
	root = filepath.Join(p.root, "dirs-root")
	base := freePorts(p.t, 2)
	hcl := fmt.Sprintf(`
environment "dirs" {
  provider "dirs" {
    root      = %q
    base_port = %d
  }
  deploy_to = "%s/${host.name}/app"
  env = {
    NOTES_DB = %q
  }
  private = "../notes-private/local"
  cluster "web" {
    count = 2
  }
%s}
`, root, base, root, filepath.Join(p.root, "dirs.sqlite3"), extra)
	f, err := os.OpenFile(filepath.Join(p.dir, "plat.hcl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	f.WriteString(hcl)
	f.Close()
	p.git("commit", "-q", "-am", "dirs environment")
	return root, []int{base, base + 1}
}

func mustAbs(t *testing.T, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func TestPushThroughPlugin(t *testing.T) {
	p := newProject(t)
	root, ports := p.pluginEnv("")
	t.Cleanup(func() { p.plat("down", "dirs", "--destroy") })

	list := p.mustPlat("plugins", "list")
	if !strings.Contains(list.stdout, "dirs") || !strings.Contains(list.stdout, "v1") {
		t.Errorf("plugins list:\n%s", list.stdout)
	}
	p.mustPlat("up", "dirs")
	p.mustPlat("push", "dirs")
	serves(t, ports, "release r1")
	if cur, _ := os.Readlink(filepath.Join(root, "web1", "app", "current")); cur != "releases/r1" {
		t.Errorf("web1 current -> %q", cur)
	}
	p.write("VERSION", "9.9.9\n")
	p.mustPlat("push", "dirs")
	serves(t, ports, "notes 9.9.9")
	p.mustPlat("rollback", "dirs")
	serves(t, ports, "release r1")
	if r := p.mustPlat("status", "dirs", "--verify"); !strings.Contains(r.stdout, "web2: r1 verified, no drift") {
		t.Errorf("status:\n%s", r.stdout)
	}

	t.Run("a changed binary is refused until locked again", func(t *testing.T) {
		bin := filepath.Join(p.dir, ".plat", "plugins", "plat-provider-dirs")
		orig, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(bin, orig, 0o755)
		if err := os.WriteFile(bin, append(append([]byte{}, orig...), 0), 0o755); err != nil {
			t.Fatal(err)
		}
		r := p.plat("status", "dirs")
		if r.code != 2 || !strings.Contains(r.stderr, "changed since it was locked") {
			t.Fatalf("tampered plugin: %s", r)
		}
	})

	t.Run("conformance suite through the boundary", func(t *testing.T) {
		r := p.plat("plugins", "test", filepath.Join(p.dir, ".plat", "plugins", "plat-provider-dirs"), "--set", "root="+t.TempDir())
		if r.code != 0 || !strings.Contains(r.stdout, "(0 failed") {
			t.Fatalf("plugins test: %s", r)
		}
	})
}

func TestPluginCrashMidPush(t *testing.T) {
	p := newProject(t)
	root, ports := p.pluginEnv("")
	t.Cleanup(func() { p.plat("down", "dirs", "--destroy") })
	p.mustPlat("up", "dirs")
	p.mustPlat("push", "dirs")
	serves(t, ports, "release r1")

	// A slow release task gives the test time to kill the plugin while
	// the push holds the lock and the new release is uploaded.
	hcl := filepath.Join(p.dir, "plat.hcl")
	b, _ := os.ReadFile(hcl)
	slow := strings.Replace(string(b), `run  = ["python3", "migrate.py"]`, `run  = ["sh", "-c", "sleep 5; python3 migrate.py"]`, 1)
	os.WriteFile(hcl, []byte(slow), 0o644)
	p.write("VERSION", "2.0.0\n")

	cmd := exec.Command(platBin, "-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port), "--json", "push", "dirs")
	cmd.Env = append(os.Environ(), "CI=true")
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(p.dir, ".plat", "plugins", "plat-provider-dirs")
	killed := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var e platform.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Type == platform.EventStepStart && e.Step == "task migrate" && killed == 0 {
			time.Sleep(300 * time.Millisecond)
			for _, pid := range pidsOf(t, plugin) {
				syscall.Kill(pid, syscall.SIGKILL)
				killed++
			}
		}
	}
	err := cmd.Wait()
	if killed == 0 {
		t.Fatalf("never saw the release task start; stderr:\n%s", stderr.String())
	}
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("push after the plugin crashed: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "plugin dirs") || !strings.Contains(stderr.String(), "web1") {
		t.Errorf("error does not name the plugin and the host:\n%s", stderr.String())
	}
	for _, h := range []string{"web1", "web2"} {
		if _, err := os.Stat(filepath.Join(root, h, "app", ".plat", "lock")); err == nil {
			t.Errorf("%s is still locked after the crash", h)
		}
		if cur, _ := os.Readlink(filepath.Join(root, h, "app", "current")); cur != "releases/r1" {
			t.Errorf("%s current -> %q, want releases/r1 (nothing switched)", h, cur)
		}
	}
	serves(t, ports, "release r1")
	if left := pidsOf(t, plugin); len(left) > 0 {
		t.Errorf("plugin processes left behind: %v", left)
	}
	// A later push succeeds.
	os.WriteFile(hcl, b, 0o644)
	p.git("commit", "-q", "-am", "fast migrate")
	p.mustPlat("push", "dirs")
	serves(t, ports, "notes 2.0.0")
}

// pidsOf returns the pids of running processes whose executable is path.
func pidsOf(t *testing.T, path string) []int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && exe == path {
			if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
				continue
			}
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestPluginStartedOncePerCommand counts the launches of a plugin that
// records each start: the load (which needs the plugin's schema), the
// provider check of validate and the engine of a push or status share one
// plugin process per command.
func TestPluginStartedOncePerCommand(t *testing.T) {
	p := newProject(t)
	r := p.mustPlat("plugins", "install", mustAbs(t, "../../plugins/internal/testplugins/plat-provider-counted"))
	if !strings.Contains(r.stdout, "installed counted") {
		t.Fatalf("install: %s", r)
	}
	base := freePorts(t, 2)
	hcl := fmt.Sprintf(`
environment "counted" {
  provider "counted" {
    base_port = %d
  }
  env = {
    NOTES_DB = %q
  }
  private = "../notes-private/local"
  cluster "web" {
    count = 2
  }
}
`, base, filepath.Join(p.root, "counted.sqlite3"))
	f, err := os.OpenFile(filepath.Join(p.dir, "plat.hcl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(hcl)
	f.Close()
	p.git("commit", "-q", "-am", "counted environment")
	t.Cleanup(func() { p.plat("down", "counted") })

	launches := filepath.Join(t.TempDir(), "launches")
	p.env = append(p.env, "PLAT_TEST_LAUNCH_LOG="+launches)
	count := func() int {
		b, err := os.ReadFile(launches)
		if os.IsNotExist(err) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\n")
	}
	for _, args := range [][]string{
		{"validate"},
		{"push", "counted"},
		{"status", "counted"},
		{"exec", "counted", "--host", "web2", "--", "true"},
	} {
		before := count()
		p.mustPlat(args...)
		if n := count() - before; n != 1 {
			t.Errorf("plat %s started the plugin %d times, want once", strings.Join(args, " "), n)
		}
	}
	// The plugin resolved its hosts' ports from base_port (the schema of
	// protocol v1 cannot carry them to plat): each host serves on its own.
	serves(t, []int{base, base + 1}, "release r1")
	// An unknown host is refused by plat before the plugin sees it.
	if r := p.plat("exec", "counted", "--host", "web3", "--", "true"); r.code != 2 || !strings.Contains(r.stderr, `no host "web3"; did you mean "web1"?`) {
		t.Errorf("unknown host: %s", r)
	}
}

// TestPluginSwarmEngine: an engine provider as a plugin. The swarm
// provider served by plat-provider-swarmplug (a plugin process, checksum
// locked) runs plat's scheduled path through the protocol's engine RPCs
// against a real single-node swarm and registry: up, push, an incremental
// push, exec into a chosen task, logs, status, releases, rollback, down
// --destroy.
func TestPluginSwarmEngine(t *testing.T) {
	c := swarmtest.Need(t)
	registry := swarmtest.Registry(t)
	p := newProject(t)
	r := p.mustPlat("plugins", "install", mustAbs(t, "../../plugins/internal/testplugins/plat-provider-swarmplug"))
	if !strings.Contains(r.stdout, "installed swarmplug") {
		t.Fatalf("install: %s", r)
	}
	_, service := p.swarmCluster(c, "swarmplug", registry, "", `    stages = [1, "100%"]
`)
	p.mustPlat("up", "cluster")
	if r := p.mustPlat("push", "cluster"); !strings.Contains(r.stdout, "pushed to "+registry) {
		t.Fatalf("push through the plugin: %s", r)
	}
	p.assertTasks("cluster", service, 3, "r1", "1.0.0")
	p.write("VERSION", "1.0.1\n")
	if r := p.mustPlat("push", "cluster"); !strings.Contains(r.stdout, "one layer of") {
		t.Fatalf("incremental push through the plugin: %s", r)
	}
	p.assertTasks("cluster", service, 3, "r2", "1.0.1")
	if r := p.mustPlat("exec", "cluster", "--host", "web.2", "--", "sh", "-c", `cat VERSION; echo "$PLAT_HOST"`); !strings.HasPrefix(r.stdout, "1.0.1\n"+service+"-web.2.") {
		t.Fatalf("exec through the plugin: %s", r)
	}
	if r := p.plat("exec", "cluster", "--", "sh", "-c", "exit 7"); r.code != 7 {
		t.Fatalf("exec exit code through the plugin: %s", r)
	}
	if r := p.mustPlat("logs", "cluster", "--role", "worker", "-n", "3"); !strings.Contains(r.stdout, "[worker.1] worker on r2") {
		t.Fatalf("logs through the plugin: %s", r)
	}
	p.mustPlat("rollback", "cluster")
	p.assertTasks("cluster", service, 3, "r1", "1.0.0")
	rels := p.mustPlat("releases", "cluster").stdout
	for _, want := range []string{"r1 *", "r2 ", "rollback"} {
		if !strings.Contains(rels, want) {
			t.Fatalf("releases through the plugin lack %q:\n%s", want, rels)
		}
	}
	p.mustPlat("down", "cluster", "--destroy")
	f := client.Filters{}.Add("label", swarmprov.LabelApp+"="+strings.TrimSuffix(strings.TrimPrefix(service, "plat-"), "-cluster"))
	if svcs, _ := c.API().ServiceList(context.Background(), client.ServiceListOptions{Filters: f}); len(svcs.Items) > 0 {
		t.Fatalf("%d services left after down --destroy through the plugin", len(svcs.Items))
	}
}
