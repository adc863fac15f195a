package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPushVagrant brings up a 2-machine environment with real Vagrant (its
// docker provider, on the local Docker Engine, from the locally built sshd
// image), pushes the example, changes it, rolls back and destroys it.
func TestPushVagrant(t *testing.T) {
	// Mostly waiting on vagrant and the daemon: overlap with the others.
	t.Parallel()
	if _, err := exec.LookPath("vagrant"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("vagrant is needed in CI (apt-get install vagrant): %v", err)
		}
		t.Skipf("vagrant not installed: %v", err)
	}
	if err := exec.Command("docker", "version").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the Docker daemon is needed in CI: %v", err)
		}
		t.Skipf("no Docker daemon: %v", err)
	}
	p := newProject(t)
	hcl := `
environment "vagrant-e2e" {
  provider "vagrant" {}
  private = "../notes-private/local"
  env = {
    MIGRATE_ON_START = "1"
  }
  cluster "web" {
    count = 2
  }
}
`
	f, err := os.OpenFile(filepath.Join(p.dir, "plat.hcl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(hcl)
	f.Close()
	p.git("commit", "-q", "-am", "vm environment")
	t.Cleanup(func() {
		if r := p.plat("down", "vagrant-e2e", "--destroy"); r.code != 0 {
			t.Logf("destroy: %s", r)
			c := exec.Command("vagrant", "destroy", "-f")
			c.Env = append(os.Environ(), "VAGRANT_CWD="+filepath.Join(p.dir, ".plat", "vagrant", "vagrant-e2e"))
			c.Run()
		}
		// A machine whose vagrant up failed half-way can leave a created
		// container vagrant no longer knows: remove this test's by label.
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=sh.plat.env=vagrant-e2e").Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
	})

	up := p.mustPlat("up", "vagrant-e2e")
	if !strings.Contains(up.stdout, "web1 running") || !strings.Contains(up.stdout, "web2 running") {
		t.Fatalf("up:\n%s", up)
	}
	curl := func(host string) string {
		t.Helper()
		r := p.mustPlat("exec", "vagrant-e2e", "--host", host, "--", "sh", "-c", `curl -fsS http://127.0.0.1:$PORT/`)
		return r.stdout
	}
	p.mustPlat("push", "vagrant-e2e")
	for _, h := range []string{"web1", "web2"} {
		if body := curl(h); !strings.Contains(body, "release r1") || !strings.Contains(body, "notes 1.0.0") {
			t.Fatalf("%s serves:\n%s", h, body)
		}
	}
	p.write("VERSION", "7.0.0\n")
	r := p.mustPlat("--json", "push", "vagrant-e2e")
	for h, m := range uploadMessages(events(t, r.stdout)) {
		if !strings.HasPrefix(m, "2 files changed") { // VERSION and REVISION
			t.Errorf("%s: upload %q, want only the changed files", h, m)
		}
	}
	for _, h := range []string{"web1", "web2"} {
		if body := curl(h); !strings.Contains(body, "notes 7.0.0") {
			t.Fatalf("%s after the change serves:\n%s", h, body)
		}
	}
	if st := p.mustPlat("status", "vagrant-e2e", "--verify"); !strings.Contains(st.stdout, "web1: r2 verified, no drift") {
		t.Errorf("status:\n%s", st.stdout)
	}
	p.mustPlat("rollback", "vagrant-e2e")
	for _, h := range []string{"web1", "web2"} {
		if body := curl(h); !strings.Contains(body, "release r1") {
			t.Fatalf("%s after rollback serves:\n%s", h, body)
		}
	}
	down := p.mustPlat("down", "vagrant-e2e", "--destroy")
	if !strings.Contains(down.stdout, "web1 missing") || !strings.Contains(down.stdout, "web2 missing") {
		t.Errorf("down --destroy:\n%s", down.stdout)
	}
	st := p.plat("status", "vagrant-e2e")
	if !strings.Contains(st.stdout+st.stderr, "missing") && !strings.Contains(st.stdout+st.stderr, "not created") {
		t.Errorf("status after destroy: %s", st)
	}
}
