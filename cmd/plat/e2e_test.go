package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// platBin is the plat binary built once for the end-to-end tests.
var platBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "plat-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	platBin = filepath.Join(dir, "plat")
	// The local store's age identity: the tests' own, never the user's.
	os.Setenv("PLAT_AGE_IDENTITY", filepath.Join(dir, "age", "identity"))
	out, err := exec.Command("go", "build", "-o", platBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build plat: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// project is a copy of examples/notes in its own git repository.
type project struct {
	t    *testing.T
	root string // holds notes/ and notes-private/
	dir  string // notes/
	port int
	env  []string // extra environment of plat
}

func newProject(t *testing.T) *project {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"notes", "notes-private"} {
		if out, err := exec.Command("cp", "-r", filepath.Join("..", "..", "examples", d), root).CombinedOutput(); err != nil {
			t.Fatalf("copy example: %v\n%s", err, out)
		}
	}
	p := &project{t: t, root: root, dir: filepath.Join(root, "notes"), port: freePorts(t, 2)}
	p.git("init", "-q", "-b", "main")
	p.git("add", "-A")
	p.git("commit", "-q", "-m", "notes")
	t.Cleanup(func() {
		// Stop the app processes the pushes started, even if the test failed.
		p.plat("down", "local")
	})
	return p
}

func (p *project) git(args ...string) {
	p.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.org",
		"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.org")
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// write changes a file of the app and commits it.
func (p *project) write(name, content string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "change "+name)
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func (p *project) plat(args ...string) result {
	p.t.Helper()
	args = append([]string{"-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port)}, args...)
	cmd := exec.Command(platBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(append(os.Environ(), "CI=true"), p.env...)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("run plat: %v", err)
	}
	return result{code, out.String(), errb.String()}
}

func (p *project) mustPlat(args ...string) result {
	p.t.Helper()
	r := p.plat(args...)
	if r.code != 0 {
		p.t.Fatalf("plat %v: %s", args, r)
	}
	return r
}

// get fetches a path from host i (0-based) of the local environment.
func (p *project) get(i int, path string) string {
	p.t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", p.port+i, path))
	if err != nil {
		p.t.Fatalf("GET web%d%s: %v", i+1, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		p.t.Fatalf("GET web%d%s: status %d: %s", i+1, path, resp.StatusCode, b)
	}
	return string(b)
}

func (p *project) hostDir(host string) string {
	return filepath.Join(p.dir, ".plat", "local", "local", host)
}

// freePorts finds n consecutive free loopback ports below Linux's
// ephemeral range (32768–60999 by default), where outgoing connections —
// ssh clients, docker, other tests — take their local ports: a web
// process told to listen on a port from that range can find it taken
// between this check and its bind.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 200; try++ {
		base := 20000 + rand.IntN(12000-n)
		ok := true
		for i := 0; i < n && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free ports")
	return 0
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

func TestPushLocalEndToEnd(t *testing.T) {
	p := newProject(t)
	r := p.mustPlat("push", "local")
	for _, want := range []string{"[web1] running: upload r1", "[web2] finished: upload r1", "[web1] finished: task migrate",
		"HOST  RELEASE  DURATION  STATUS", fmt.Sprintf("web2 http://127.0.0.1:%d", p.port+1)} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("push output lacks %q:\n%s", want, r.stdout)
		}
	}
	for i := 0; i < 2; i++ {
		body := p.get(i, "/")
		if !strings.Contains(body, "notes 1.0.0") || !strings.Contains(body, "release r1") || !strings.Contains(body, "Deployed by plat") {
			t.Fatalf("web%d serves:\n%s", i+1, body)
		}
	}
	// The build task compiled the assets into the release.
	if css := p.get(0, "/static/app.css"); !strings.Contains(css, "font-family") || strings.Contains(css, "/*") {
		t.Errorf("compiled css = %q", css)
	}
	// Private settings land with mode 0600.
	st, err := os.Stat(filepath.Join(p.hostDir("web1"), "releases", "r1", "settings.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("settings.json: %v, mode %v", err, st.Mode())
	}

	p.write("VERSION", "2.0.0\n")
	r = p.mustPlat("push", "local")
	for i := 0; i < 2; i++ {
		if body := p.get(i, "/"); !strings.Contains(body, "notes 2.0.0") || !strings.Contains(body, "release r2") {
			t.Fatalf("after second push web%d serves:\n%s", i+1, body)
		}
	}
	// Only the changed file (and REVISION, which records the commit)
	// differ between the two release dirs; every other file is a hard link.
	r1, r2 := filepath.Join(p.hostDir("web1"), "releases", "r1"), filepath.Join(p.hostDir("web1"), "releases", "r2")
	var differ []string
	err = filepath.Walk(r2, func(path string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(r2, path)
		if strings.HasPrefix(rel, ".plat/") {
			return nil
		}
		if inode(t, filepath.Join(r1, rel)) != inode(t, path) {
			differ = append(differ, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(differ, ",") != "REVISION,VERSION" {
		t.Errorf("files that are not hard links between r1 and r2: %v, want [REVISION VERSION]", differ)
	}

	diff := p.mustPlat("diff", "local", "r1", "r2")
	if !strings.Contains(diff.stdout, "~ VERSION") || strings.Contains(diff.stdout, "app.py") {
		t.Errorf("diff r1 r2:\n%s", diff.stdout)
	}

	rel := p.mustPlat("releases", "local")
	if !strings.Contains(rel.stdout, "r1") || !strings.Contains(rel.stdout, "r2 *") {
		t.Errorf("releases:\n%s", rel.stdout)
	}

	p.mustPlat("rollback", "local")
	for i := 0; i < 2; i++ {
		if body := p.get(i, "/"); !strings.Contains(body, "notes 1.0.0") || !strings.Contains(body, "release r1") {
			t.Fatalf("after rollback web%d serves:\n%s", i+1, body)
		}
	}
	log, err := os.ReadFile(filepath.Join(p.hostDir("web2"), "revisions.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "deployed as release r2 by") || !strings.Contains(string(log), "rolled back to release r1") {
		t.Errorf("revisions.log:\n%s", log)
	}

	st1 := p.mustPlat("status", "local", "--verify")
	if !strings.Contains(st1.stdout, "web1  r1") || !strings.Contains(st1.stdout, "web running") || !strings.Contains(st1.stdout, "r1 verified, no drift") {
		t.Errorf("status:\n%s", st1.stdout)
	}

	p.mustPlat("down", "local")
	st2 := p.mustPlat("status", "local")
	if !strings.Contains(st2.stdout, "-  ") || strings.Contains(st2.stdout, "web running") {
		t.Errorf("status after down still shows running processes:\n%s", st2.stdout)
	}
}

func TestPushBadInput(t *testing.T) {
	p := newProject(t)
	p.mustPlat("push", "local")

	t.Run("broken plat.hcl", func(t *testing.T) {
		hcl := filepath.Join(p.dir, "plat.hcl")
		orig, _ := os.ReadFile(hcl)
		defer os.WriteFile(hcl, orig, 0o644)
		broken := strings.Replace(string(orig), `buildpack = "python"`, "buildpack = \"python\"\n  colour = \"blue\"", 1)
		if err := os.WriteFile(hcl, []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		r := p.plat("push", "local")
		if r.code != 2 || !strings.Contains(r.stderr, "plat.hcl line 17") || !strings.Contains(r.stderr, "colour") {
			t.Fatalf("want exit 2 naming plat.hcl line 17 and the attribute:\n%s", r)
		}
	})
	t.Run("unknown environment", func(t *testing.T) {
		r := p.plat("push", "moon")
		if r.code != 2 || !strings.Contains(r.stderr, `unknown environment "moon"`) || !strings.Contains(r.stderr, "local") {
			t.Fatalf("want exit 2 naming the environment:\n%s", r)
		}
	})
	t.Run("failing build task", func(t *testing.T) {
		p.write("test_app.py", "import unittest\nclass T(unittest.TestCase):\n    def test_fails(self):\n        self.fail('boom')\n")
		r := p.plat("push", "local")
		if r.code != 1 || !strings.Contains(r.stderr, "build task tests failed; nothing was uploaded") || !strings.Contains(r.stdout, "boom") {
			t.Fatalf("want exit 1 with the test's failure:\n%s", r)
		}
		if strings.Contains(r.stdout, "upload") {
			t.Errorf("a failing build task uploaded:\n%s", r.stdout)
		}
		if body := p.get(0, "/"); !strings.Contains(body, "release r1") {
			t.Errorf("previous release no longer serves:\n%s", body)
		}
		p.git("revert", "--no-edit", "HEAD")
	})
	t.Run("health check never passes", func(t *testing.T) {
		hcl := filepath.Join(p.dir, "plat.hcl")
		orig, _ := os.ReadFile(hcl)
		// Few enough tries to fail fast on a 503, enough for the previous
		// release to start again on a loaded machine when switched back.
		fast := strings.Replace(string(orig), "retries  = 20", "retries  = 8", 1)
		if err := os.WriteFile(hcl, []byte(fast), 0o644); err != nil {
			t.Fatal(err)
		}
		app, _ := os.ReadFile(filepath.Join(p.dir, "app.py"))
		p.write("app.py", strings.Replace(string(app), `return self.send(200, "text/plain", b"ok\n")`, `return self.send(503, "text/plain", b"sick\n")`, 1))
		r := p.plat("push", "local")
		if r.code != 1 || !strings.Contains(r.stderr, "health check failed") || !strings.Contains(r.stderr, "web1") ||
			!strings.Contains(r.stderr, "last lines of the web process's log") || !strings.Contains(r.stderr, "GET /healthz") {
			t.Fatalf("want exit 1 naming the host and the health check:\n%s", r)
		}
		for i := 0; i < 2; i++ {
			if body := p.get(i, "/"); !strings.Contains(body, "release r1") {
				t.Errorf("web%d does not serve the previous release:\n%s", i+1, body)
			}
		}
		if cur, _ := os.Readlink(filepath.Join(p.hostDir("web1"), "current")); cur != "releases/r1" {
			t.Errorf("web1 current -> %s, want releases/r1", cur)
		}
	})
}

func TestPrivateSettingsAreVersionedButNeverShown(t *testing.T) {
	p := newProject(t)
	p.mustPlat("push", "local")
	secret := "s3cr3t-value-that-must-not-leak"
	settings := filepath.Join(p.root, "notes-private", "local", "settings.json")
	if err := os.WriteFile(settings, []byte(`{"greeting": "Howdy", "secret_key": "`+secret+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := p.mustPlat("push", "local", "--force")
	if body := p.get(0, "/"); !strings.Contains(body, "Howdy") {
		t.Fatalf("new private settings not served:\n%s", body)
	}
	d := p.mustPlat("diff", "local", "r1", "r2")
	if !strings.Contains(d.stdout, "~ settings.json (private)") || strings.Contains(d.stdout, secret) {
		t.Errorf("diff without --show-private:\n%s", d.stdout)
	}
	d = p.mustPlat("diff", "local", "r1", "r2", "--show-private")
	if !strings.Contains(d.stdout, secret) {
		t.Errorf("diff --show-private does not show the change:\n%s", d.stdout)
	}
	// Nothing else prints it: not the push, not its JSON events, not status.
	js := p.mustPlat("--json", "push", "local", "--force")
	st := p.mustPlat("status", "local", "--verify")
	for name, out := range map[string]string{"push": r.stdout + r.stderr, "push --json": js.stdout + js.stderr, "status": st.stdout} {
		if strings.Contains(out, secret) {
			t.Errorf("%s output contains the secret", name)
		}
	}
	// The store keeps it private.
	err := filepath.Walk(filepath.Join(p.dir, ".plat", "store"), func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", path, info.Mode())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestInitWritesAValidStarter(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("print('hi')\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: python3 app.py\n"), 0o644)
	code, out, errs := runMain(t, "-C", dir, "init")
	if code != 0 || !strings.Contains(out, "python") {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runMain(t, "-C", dir, "validate"); code != 0 {
		t.Fatalf("validate the starter: %s", errs)
	}
	if code, _, errs := runMain(t, "-C", dir, "init"); code != 2 || !strings.Contains(errs, "already exists") {
		t.Errorf("second init: exit %d %s", code, errs)
	}
}
