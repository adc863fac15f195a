package hostcmd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
)

// runPorts runs a registry command with this machine's sh.
func runPorts(t *testing.T, cmd *platform.Command) (string, int) {
	t.Helper()
	c := exec.Command(cmd.Args[0], cmd.Args[1:]...)
	var errb strings.Builder
	c.Stderr = &errb
	out, err := c.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 0 && code != ExitPortClash {
		t.Fatalf("%v: exit %d: %s", cmd.Args[4:], code, errb.String())
	}
	return string(out), code
}

func TestPortRegistry(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plat")
	assign := func(deployTo, app string, named int) int {
		t.Helper()
		out, code := runPorts(t, PortAssign(dir, deployTo, app, "prod", 9000, named))
		if code != 0 {
			t.Fatalf("assign %s: clash %q", app, out)
		}
		p, err := ParsePort(out)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	lookup := func(deployTo string) int {
		t.Helper()
		out, _ := runPorts(t, PortLookup(dir, deployTo))
		p, err := ParsePort(out)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := lookup("/srv/notes"); p != 0 {
		t.Fatalf("lookup on an empty host = %d, want none", p)
	}
	if p := assign("/srv/notes", "notes", 0); p != 9000 {
		t.Errorf("first app got %d, want the base 9000", p)
	}
	// A named port is recorded, so the next free one skips it.
	if p := assign("/srv/wiki", "wiki", 9001); p != 9001 {
		t.Errorf("named port recorded as %d", p)
	}
	if p := assign("/srv/my blog", "blog", 0); p != 9002 {
		t.Errorf("third app got %d, want 9002 (9000 and 9001 taken)", p)
	}
	// Stable: a later push, and a lookup, give the same port.
	if p := assign("/srv/notes", "notes", 0); p != 9000 {
		t.Errorf("second push of notes got %d, want 9000 again", p)
	}
	if p := lookup("/srv/my blog"); p != 9002 {
		t.Errorf("lookup of blog = %d", p)
	}
	// A clash names the other app, its environment and deploy_to.
	out, code := runPorts(t, PortAssign(dir, "/srv/shop", "shop", "prod", 9000, 9002))
	e, ok := ParseClash(out)
	if code != ExitPortClash || !ok || e != (PortEntry{Port: 9002, App: "blog", Env: "prod", DeployTo: "/srv/my blog"}) {
		t.Errorf("clash: exit %d, %+v from %q", code, e, out)
	}
	if p := lookup("/srv/shop"); p != 0 {
		t.Errorf("a clashing app was recorded (%d)", p)
	}
	b, err := os.ReadFile(filepath.Join(dir, "ports"))
	if err != nil {
		t.Fatal(err)
	}
	want := "9001 wiki prod /srv/wiki\n9002 blog prod /srv/my blog\n9000 notes prod /srv/notes\n"
	if string(b) != want {
		t.Errorf("registry:\n%s\nwant:\n%s", b, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "ports.lock")); err == nil {
		t.Error("the registry lock was left behind")
	}
}

// Apps pushed at once each get their own port: the host-level lock
// serialises the read-modify-rename.
func TestPortRegistryConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 12
	ports := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, _ := runPorts(t, PortAssign(dir, fmt.Sprintf("/srv/app%d", i), fmt.Sprintf("app%d", i), "prod", 7000, 0))
			ports[i] = strings.TrimSpace(out)
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, p := range ports {
		if seen[p] {
			t.Errorf("app%d got port %s, already given to another app: %v", i, p, ports)
		}
		seen[p] = true
	}
	b, _ := os.ReadFile(filepath.Join(dir, "ports"))
	if strings.Count(string(b), "\n") != n {
		t.Errorf("registry has lost lines:\n%s", b)
	}
}

func TestPortRegistryTakesOverAStaleLock(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, "ports.lock")
	if err := os.Mkdir(lock, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-5 * time.Minute)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	out, _ := runPorts(t, PortAssign(dir, "/srv/a", "a", "prod", 7000, 0))
	if strings.TrimSpace(out) != "7000" {
		t.Errorf("assign with a stale lock printed %q", out)
	}
}
