package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// newProjectNamed is the example project with its app renamed: another
// app of the same team.
func newProjectNamed(t *testing.T, name string) *project {
	t.Helper()
	p := newProject(t)
	hcl := filepath.Join(p.dir, "plat.hcl")
	b, err := os.ReadFile(hcl)
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(string(b), `app "notes"`, `app "`+name+`"`, 1)
	if renamed == string(b) {
		t.Fatal(`the example's plat.hcl has no app "notes" block`)
	}
	if err := os.WriteFile(hcl, []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "app "+name)
	return p
}

// notesOnFleet pushes the example app to a fleet of two sshd hosts.
func notesOnFleet(t *testing.T) (*sshtest.Fleet, *project, []int) {
	t.Helper()
	fleet := sshtest.New(t, 2)
	notes := newProject(t)
	ports := notes.sshEnv(fleet, "")
	t.Cleanup(func() { notes.plat("down", "fleet") })
	notes.mustPlat("push", "fleet")
	serves(t, ports, "release r1")
	return fleet, notes, ports
}

// A deploy_to belongs to the app that deployed there first: another app
// pointed at it is refused, naming both, before anything changes there.
func TestDeployToBelongsToOneApp(t *testing.T) {
	fleet, notes, ports := notesOnFleet(t)
	history := map[string]string{}
	for _, h := range fleet.Hosts {
		b, err := os.ReadFile(filepath.Join(h.Root, ".plat", "history"))
		if err != nil {
			t.Fatal(err)
		}
		history[h.Name] = string(b)
	}

	blog := newProjectNamed(t, "blog")
	blog.sshEnvOn(fleet, freePorts(t, len(fleet.Hosts)), func(h *sshtest.Host) string { return h.Root }, "")
	for _, args := range [][]string{{"push", "fleet"}, {"down", "fleet"}, {"rollback", "fleet"}} {
		r := blog.plat(args...)
		if r.code != 1 || !strings.Contains(r.stderr, `belongs to app "notes", not "blog"`) || !strings.Contains(r.stderr, fleet.Hosts[0].Root) {
			t.Errorf("plat %s of another app on notes' deploy_to: want exit 1 naming both apps and the path, got %s", args[0], r)
		}
	}
	serves(t, ports, "release r1")
	for _, h := range fleet.Hosts {
		b, err := os.ReadFile(filepath.Join(h.Root, ".plat", "history"))
		if err != nil || string(b) != history[h.Name] {
			t.Errorf("%s: history changed by the refused app:\n%s", h.Name, b)
		}
		if _, err := os.Stat(filepath.Join(h.Root, ".plat", "lock")); err == nil {
			t.Errorf("%s: the refused push left a lock", h.Name)
		}
	}
	// The owner itself goes on as before.
	notes.write("VERSION", "2.0.0\n")
	notes.mustPlat("push", "fleet")
	serves(t, ports, "release r2")
}

// A second app given the port the first one serves on must not pass its
// health check on the first app's answers: the gate proves that the new
// release's own process holds the port, and a process that died binding
// it fails the push at once.
func TestHealthGateRefusesAnotherAppsPort(t *testing.T) {
	fleet, _, ports := notesOnFleet(t)

	blogRoot := func(h *sshtest.Host) string { return h.Root + "-blog" }
	for _, tc := range []struct {
		name, want string
		noReuse    bool
	}{
		// The example app sets SO_REUSEPORT: both bind, the kernel would
		// spread connections over the two apps.
		{name: "both share the port", want: "is also held by"},
		// Without it the second app dies with "Address already in use".
		{name: "the second cannot bind", want: "exited", noReuse: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blog := newProjectNamed(t, "blog")
			if tc.noReuse {
				b, err := os.ReadFile(filepath.Join(blog.dir, "app.py"))
				if err != nil {
					t.Fatal(err)
				}
				src := strings.Replace(string(b), `if hasattr(socket, "SO_REUSEPORT"):`, `if False:`, 1)
				if src == string(b) {
					t.Fatal("examples/notes/app.py no longer sets SO_REUSEPORT that way; update this test")
				}
				blog.write("app.py", src)
			}
			blog.sshEnvOn(fleet, ports[0], blogRoot, "")
			t.Cleanup(func() { blog.plat("down", "fleet") })
			r := blog.plat("push", "fleet")
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "host1") {
				t.Fatalf("push of a second app on the first app's port: want exit 1 naming the host and %q, got %s", tc.want, r)
			}
			if tc.noReuse && !strings.Contains(r.stderr, "Address already in use") {
				t.Errorf("the failure does not show the web process's log:\n%s", r.stderr)
			}
			for _, h := range fleet.Hosts {
				if cur, err := os.Readlink(filepath.Join(blogRoot(h), "current")); err == nil {
					t.Errorf("%s: the failed app is current (%s)", h.Name, cur)
				}
			}
			serves(t, ports, "release r1")
			if body, _ := getPort(t, ports[0], "/"); !strings.Contains(body, "notes") {
				t.Errorf("the first app no longer serves:\n%s", body)
			}
		})
	}
}
