package plugins_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins"
)

// bin holds the plugins TestMain builds once per package run.
var bin string

func TestMain(m *testing.M) {
	// Host mode: the kill test runs this binary as a stand-in for plat.
	if p := os.Getenv("PLAT_PLUGINS_TEST_HOST"); p != "" {
		hostMode(p)
		return
	}
	// A fuzz run (go test -fuzz, and its workers) runs only the fuzz
	// target, which needs no plugin binaries.
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "plat-plugins-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"./example/plat-provider-dirs",
		"./internal/testplugins/plat-provider-crashy",
		"./internal/testplugins/plat-provider-noisy",
		"./internal/testplugins/plat-provider-future",
		"./internal/testplugins/plat-provider-local",
		"./internal/testplugins/plat-provider-oldv1",
		"./internal/testplugins/plat-provider-swarmplug",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test plugins: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	bin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hostMode opens the plugin, prints its pid and waits to be killed.
func hostMode(path string) {
	c, err := plugins.Open(context.Background(), path, plugins.Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(c.Pid())
	time.Sleep(time.Minute)
	c.Close()
}

func plugin(name string) string { return filepath.Join(bin, "plat-provider-"+name) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func open(t *testing.T, name string) *plugins.Client {
	t.Helper()
	c, err := plugins.Open(testCtx(t), plugin(name), plugins.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testEnv(hosts ...string) *platform.Environment {
	c := &platform.Cluster{Name: "web"}
	for _, h := range hosts {
		c.Hosts = append(c.Hosts, &platform.Host{Name: h, Cluster: "web"})
	}
	return &platform.Environment{Name: "test", Clusters: []*platform.Cluster{c}}
}

// upTargets configures the plugin with a fresh root, creates the hosts'
// directories and returns their targets (closed at cleanup).
func upTargets(t *testing.T, c *plugins.Client, hosts ...string) (platform.Provider, []*platform.Target) {
	t.Helper()
	ctx := testCtx(t)
	p, err := c.Factory().New(platform.ProviderConfig{Type: c.Name(), Values: map[string]any{"root": t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(hosts...)
	if _, err := p.(platform.Provisioner).Up(ctx, &platform.UpRequest{Env: env}); err != nil {
		t.Fatal(err)
	}
	resp, err := p.Targets(ctx, &platform.TargetsRequest{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, tg := range resp.Targets {
			tg.Transport.Close()
		}
	})
	return p, resp.Targets
}

// gone reports whether pid no longer runs (absent, or a zombie nobody
// reaped yet).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// waitGone polls until pid is gone; the deadline is generous because the
// machine is shared, and it bounds a hang, not a speed.
func waitGone(t *testing.T, what string, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) is still running", what, pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var b []byte
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		b, err = os.ReadFile(path)
		if err == nil && len(bytes.TrimSpace(b)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
