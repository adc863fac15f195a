package vagrant

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/providers/docker"
)

// requireDocker fails (not skips) without a Docker daemon: the tests use
// real components, and CI has Docker.
func requireDocker(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Fatalf("docker is needed: %v\n%s", err, out)
	}
}

// requireVagrant fails without the vagrant program (CI installs Debian's
// vagrant package).
func requireVagrant(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("vagrant"); err != nil {
		t.Fatalf("vagrant is needed (apt-get install vagrant): %v", err)
	}
}

// requireImage makes sure DefaultImage exists, building the base image
// first when this machine has none (debootstrap, minutes, once).
func requireImage(t *testing.T) {
	t.Helper()
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if _, err := imageLabel(ctx, BaseImage, recipeLabel); err != nil {
		c, err := docker.Connect(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := docker.EnsureBase(ctx, c, docker.BaseOptions{Output: testWriter{t}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := EnsureImage(ctx); err != nil {
		t.Fatal(err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// cleanupVagrant destroys whatever a test's vagrant project holds, even
// when the test failed half-way: `vagrant destroy -f` in dir, then the
// containers by name in case Vagrant lost track of them.
func cleanupVagrant(t *testing.T, dir string, containers ...string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := os.Stat(dir); err == nil {
			c := &cli{bin: "vagrant", dir: dir}
			if _, err := c.run(ctx, nil, "destroy", "-f"); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
		if len(containers) > 0 {
			args := append([]string{"rm", "-f", "-v"}, containers...)
			out, _ := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
			if s := string(out); strings.Contains(s, "Error") && !strings.Contains(s, "No such container") {
				t.Logf("cleanup: docker rm: %s", s)
			}
		}
	})
}

// containerExists reports whether docker knows a container of that name.
func containerExists(t *testing.T, name string) bool {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "name=^/"+name+"$", "--format", "{{.Names}}").Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.TrimSpace(string(out)) == name
}
