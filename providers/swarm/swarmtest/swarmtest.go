// Package swarmtest gives tests a real single-node swarm on the local
// Docker daemon and a real registry (Debian's docker-registry), started
// by the test and removed afterwards.
package swarmtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform/filelock"
	"github.com/plat-sh/plat/providers/docker"
)

// Need makes the local Docker daemon a swarm manager for the test: if it
// is in no swarm, `docker swarm init --advertise-addr 127.0.0.1`, and
// `docker swarm leave --force` at the end. Tests that need a swarm, in
// any package, run one at a time (a lock file in the temp directory), so
// one never leaves the swarm under another. Outside CI the test is
// skipped when there is no daemon.
func Need(t *testing.T) *docker.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	c := connect(ctx, t)
	if _, err := docker.EnsureBase(ctx, c, docker.BaseOptions{}); err != nil {
		t.Fatalf("base image: %v", err)
	}
	lockSwarm(ctx, t)
	info, err := c.API().Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	switch st := info.Info.Swarm; {
	case st.LocalNodeState == swarm.LocalNodeStateActive && st.ControlAvailable:
	case st.LocalNodeState == swarm.LocalNodeStateInactive:
		if out, err := exec.CommandContext(ctx, "docker", "swarm", "init", "--advertise-addr", "127.0.0.1").CombinedOutput(); err != nil {
			t.Fatalf("docker swarm init: %v\n%s", err, out)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if out, err := exec.CommandContext(ctx, "docker", "swarm", "leave", "--force").CombinedOutput(); err != nil {
				t.Errorf("docker swarm leave: %v\n%s", err, out)
			}
		})
	default:
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs a Docker daemon that is a swarm manager or in no swarm; it is a swarm %s node without control", st.LocalNodeState)
		}
		t.Skipf("the Docker daemon is a swarm %s node without control: not a manager a test can use", st.LocalNodeState)
	}
	return c
}

// Registry runs Debian's docker-registry on a free loopback port with its
// data in a temporary directory, as a child process of the test, and
// returns its HOST:PORT (Docker treats 127.0.0.0/8 registries as
// insecure, so no TLS is needed).
func Registry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI needs Debian's docker-registry package (apt-get install -y docker-registry)")
		}
		t.Skip("no docker-registry (apt-get install -y docker-registry)")
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	hc := http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("docker-registry did not answer on %s within 30s: %v\n%s", addr, err, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// NoSwarm gives the test the local Docker daemon while it is in no swarm
// (holding the lock the swarm tests take, so none inits one meanwhile),
// for checks of what plat says without a manager. The test is skipped
// when the daemon is in a swarm already: that swarm is not the test's to
// leave.
func NoSwarm(t *testing.T) *docker.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	c := connect(ctx, t)
	lockSwarm(ctx, t)
	info, err := c.API().Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := info.Info.Swarm.LocalNodeState; st != swarm.LocalNodeStateInactive {
		t.Skipf("the Docker daemon is in a swarm (%s) that is not this test's", st)
	}
	return c
}

// connect gives the test the local Docker daemon, closed at its end; with
// none, the test fails in CI and is skipped elsewhere.
func connect(ctx context.Context, t *testing.T) *docker.Client {
	t.Helper()
	c, err := docker.Connect(ctx, "")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs a Docker daemon: %v", err)
		}
		t.Skipf("no Docker daemon: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// lockSwarm waits until no other swarm test (of any package) runs, and
// holds that until the test ends.
func lockSwarm(ctx context.Context, t *testing.T) {
	t.Helper()
	unlock, err := filelock.Lock(ctx, filepath.Join(os.TempDir(), "plat-swarmtest.lock"))
	if err != nil {
		t.Fatalf("wait for the other swarm tests: %v", err)
	}
	t.Cleanup(unlock)
}
