package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform/ui"
)

// holdLock writes a live deploy lock held by bob@laptop on every local
// host, as a push from another machine leaves it while it runs.
func (p *project) holdLock() {
	p.t.Helper()
	for _, h := range []string{"web1", "web2"} {
		d := filepath.Join(p.hostDir(h), ".plat", "lock")
		if err := os.MkdirAll(d, 0o755); err != nil {
			p.t.Fatal(err)
		}
		info := fmt.Sprintf("owner=bob@laptop\nsince=%d\ncommand=push\nexpires=%d\ntoken=x\n", time.Now().Unix(), time.Now().Add(time.Hour).Unix())
		if err := os.WriteFile(filepath.Join(d, "info"), []byte(info), 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
}

// TestExitCodes holds every exit code of README's table to what the built
// binary does, with the messages that go with them.
func TestExitCodes(t *testing.T) {
	p := newProject(t)
	p.mustPlat("push", "local")
	tests := []struct {
		name   string
		setup  func()
		args   []string
		code   int
		stderr []string
		stdout string
	}{
		{name: "no command: help", args: nil, code: 0, stdout: "Available Commands"},
		{name: "unknown command", args: []string{"pus", "local"}, code: 2, stderr: []string{`unknown command "pus" for "plat"`, "Did you mean this?", "\tpush\n"}},
		{name: "unknown command of a group", args: []string{"env", "bogus"}, code: 2, stderr: []string{`unknown command "bogus" for "plat env"`}},
		{name: "unknown plugins command", args: []string{"plugins", "lst"}, code: 2, stderr: []string{`unknown command "lst" for "plat plugins"`, "list"}},
		{name: "a group alone prints its help", args: []string{"env"}, code: 0, stdout: "Available Commands"},
		{name: "unknown flag", args: []string{"push", "local", "--frobnicate"}, code: 2, stderr: []string{"unknown flag: --frobnicate"}},
		{name: "unknown flag before the command", args: []string{"--frobnicate", "status", "local"}, code: 2, stderr: []string{"unknown flag: --frobnicate"}},
		{name: "missing argument", args: []string{"push"}, code: 2, stderr: []string{"takes one environment"}},
		{name: "too many arguments", args: []string{"status", "local", "extra"}, code: 2, stderr: []string{"takes one environment (got 2 arguments)"}},
		{name: "unknown environment", args: []string{"status", "moon"}, code: 2, stderr: []string{`unknown environment "moon"`, "local"}},
		{name: "env diff: same", args: []string{"env", "diff", "local", "local"}, code: 0, stdout: "(no differences)"},
		{name: "env diff: different", args: []string{"env", "diff", "local", "laptop"}, code: 1, stdout: "+ provider: docker"},
		{name: "rollback to an unknown release", args: []string{"rollback", "local", "r9"}, code: 2,
			stderr: []string{"unknown release r9 of local: neither a host nor the local store has it (known: r1; see `plat releases local`)"}},
		{name: "rollback to a malformed release", args: []string{"rollback", "local", "latest"}, code: 2, stderr: []string{`"latest" is not a release id`}},
		{name: "nothing to roll back to", args: []string{"rollback", "local"}, code: 2, stderr: []string{"no earlier release to roll back to on local"}},
		{name: "remote exit code", args: []string{"exec", "local", "--host", "web1", "--", "sh", "-c", "exit 7"}, code: 7},
		{name: "remote failure on several hosts", args: []string{"exec", "local", "--", "false"}, code: 1, stderr: []string{"Error: exec false\n  web1: exit status 1\n  web2: exit status 1\n"}},
		{name: "lock held", setup: p.holdLock, args: []string{"push", "local", "--force"}, code: 3,
			stderr: []string{"bob@laptop", "hint: wait with --lock-wait DURATION"}},
		{name: "lock held, --json", setup: p.holdLock, args: []string{"--json", "push", "local", "--force"}, code: 3, stdout: `"type":"error"`},
		{name: "lock broken", args: []string{"lock", "local", "break"}, code: 0, stdout: "broke the lock held by bob@laptop"},
		{name: "drift", setup: func() {
			// A new file, not a write through the release's hard link.
			path := filepath.Join(p.hostDir("web1"), "current", "VERSION")
			os.Remove(path)
			os.WriteFile(path, []byte("9.9.9\n"), 0o644)
		}, args: []string{"status", "local", "--verify"}, code: 1, stdout: "changed  VERSION"},
		{name: "a process is down", setup: func() { p.mustPlat("stop", "local", "--host", "web2") }, args: []string{"ps", "local"}, code: 1, stdout: "stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			r := p.plat(tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.code, r)
			}
			for _, w := range tt.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q\n%s", w, r)
				}
			}
			if !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("stdout lacks %q\n%s", tt.stdout, r)
			}
		})
	}
	// The lock-held stream ends with exit_code 3.
	p.holdLock()
	r := p.plat("--json", "push", "local", "--force")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var last ui.JSONEvent
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Type != "error" || last.ExitCode != 3 || !strings.Contains(last.Error, "bob@laptop") {
		t.Errorf("last event of a locked push: %v %s", err, lines[len(lines)-1])
	}
	p.mustPlat("lock", "local", "break")
}

// platIn runs the built binary in dir with no -C, as a person in a
// terminal would.
func platIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(platBin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(append(os.Environ(), "CI=true"), env...)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run plat: %v", err)
	}
	return result{code, out.String(), errb.String()}
}

// TestFlagsAndDiscovery: -f before logs is the file and after it follow,
// plat.hcl is found from a subdirectory, and PLAT_CHDIR, PLAT_FILE and
// PLAT_JSON stand in for -C, -f and --json.
func TestFlagsAndDiscovery(t *testing.T) {
	p := newProject(t)
	hcl, _ := os.ReadFile(filepath.Join(p.dir, "plat.hcl"))
	alt := strings.Replace(string(hcl), `environment "local" {`, `environment "alt" {`, 1)
	if err := os.WriteFile(filepath.Join(p.dir, "alt.hcl"), []byte(alt), 0o644); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(p.root, "notes-private")
	if out, err := exec.Command("cp", "-r", filepath.Join(private, "local"), filepath.Join(private, "alt")).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	port := fmt.Sprintf("base_port=%d", p.port)

	// alt's hosts take the same ports as local's: one at a time.
	t.Run("-f before logs is the file", func(t *testing.T) {
		p.mustPlat("-f", "alt.hcl", "push", "alt")
		r := p.mustPlat("-f", "alt.hcl", "logs", "alt", "--host", "web1", "-n", "5")
		if !strings.Contains(r.stdout, "[web1] ") {
			t.Errorf("logs of alt:\n%s", r)
		}
		if r := p.plat("-f", "alt.hcl", "logs", "local"); r.code != 2 || !strings.Contains(r.stderr, `unknown environment "local"`) {
			t.Errorf("-f alt.hcl logs local reads plat.hcl, not alt.hcl:\n%s", r)
		}
		if r := p.mustPlat("logs", "alt", "--file", "alt.hcl", "-n", "1"); !strings.Contains(r.stdout, "[web2] ") {
			t.Errorf("logs --file:\n%s", r)
		}
		p.mustPlat("-f", "alt.hcl", "down", "alt")
	})
	p.mustPlat("push", "local")
	t.Run("-f after logs is follow, and says so", func(t *testing.T) {
		r := p.plat("logs", "local", "-f", "alt.hcl")
		if r.code != 2 || !strings.Contains(r.stderr, "after logs, -f is --follow") || !strings.Contains(r.stderr, "plat -f FILE logs ENV") {
			t.Errorf("logs -f FILE:\n%s", r)
		}
	})
	t.Run("plat.hcl found from a subdirectory", func(t *testing.T) {
		sub := filepath.Join(p.dir, "static", "deeper")
		os.MkdirAll(sub, 0o755)
		r := platIn(t, sub, nil, "--var", port, "validate")
		if r.code != 0 || r.stdout != "../../plat.hcl: app \"notes\", 5 environments: ok\n" {
			t.Errorf("validate from static/deeper:\n%s", r)
		}
		// The project is plat.hcl's directory: state and releases are
		// the same as from the top.
		r = platIn(t, sub, nil, "--var", port, "--json", "releases", "local")
		var doc releasesDoc
		if err := decodeStrict([]byte(r.stdout), &doc); err != nil || len(doc.Releases) != 1 {
			t.Errorf("releases from a subdirectory: %v\n%s", err, r)
		}
		if _, err := os.Stat(filepath.Join(sub, ".plat")); err == nil {
			t.Error("a command in a subdirectory made a .plat there")
		}
	})
	t.Run("the search stops at the repository's top", func(t *testing.T) {
		// A repository inside the project's: the project's plat.hcl is
		// above its top, so it is not used.
		inner := filepath.Join(p.dir, "vendor", "lib")
		os.MkdirAll(filepath.Join(inner, "src"), 0o755)
		if out, err := exec.Command("git", "init", "-q", inner).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		r := platIn(t, filepath.Join(inner, "src"), nil, "validate")
		want := fmt.Sprintf("no plat.hcl in %s or its parents up to %s (the top of its git repository)", filepath.Join(inner, "src"), inner)
		if r.code != 2 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "hint: plat init writes one") {
			t.Errorf("want %q:\n%s", want, r)
		}
	})
	t.Run("PLAT_CHDIR, and -C wins over it", func(t *testing.T) {
		elsewhere := t.TempDir()
		r := platIn(t, elsewhere, []string{"PLAT_CHDIR=" + p.dir}, "--var", port, "validate")
		if r.code != 0 || !strings.Contains(r.stdout, `app "notes"`) {
			t.Errorf("PLAT_CHDIR:\n%s", r)
		}
		r = platIn(t, elsewhere, []string{"PLAT_CHDIR=/nonexistent"}, "-C", p.dir, "--var", port, "validate")
		if r.code != 0 {
			t.Errorf("-C over PLAT_CHDIR:\n%s", r)
		}
	})
	t.Run("PLAT_FILE, and -f wins over it", func(t *testing.T) {
		p.env = []string{"PLAT_FILE=alt.hcl"}
		defer func() { p.env = nil }()
		if r := p.mustPlat("env", "list"); !strings.Contains(r.stdout, "\nalt ") || strings.Contains(r.stdout, "\nlocal ") {
			t.Errorf("PLAT_FILE=alt.hcl env list:\n%s", r)
		}
		if r := p.mustPlat("-f", "plat.hcl", "env", "list"); !strings.Contains(r.stdout, "\nlocal ") {
			t.Errorf("-f over PLAT_FILE:\n%s", r)
		}
	})
	t.Run("PLAT_JSON, and --json=false wins over it", func(t *testing.T) {
		p.env = []string{"PLAT_JSON=1"}
		defer func() { p.env = nil }()
		var doc statusDoc
		if err := decodeStrict([]byte(p.mustPlat("status", "local").stdout), &doc); err != nil || len(doc.Hosts) != 2 {
			t.Errorf("PLAT_JSON=1 status: %v", err)
		}
		if r := p.mustPlat("--json=false", "status", "local"); !strings.HasPrefix(r.stdout, "HOST ") {
			t.Errorf("--json=false over PLAT_JSON:\n%s", r)
		}
	})
}

// TestColourAndCursor runs plat on a real terminal (a PTY): colour and the
// live view's cursor movement by default, neither with TERM=dumb, no
// colour with NO_COLOR or --no-color.
func TestColourAndCursor(t *testing.T) {
	p := newProject(t)
	p.mustPlat("push", "local")
	const esc = "\x1b["
	tests := []struct {
		name      string
		env, args []string
		escapes   bool
	}{
		{"terminal, live view", []string{"CI="}, nil, true},
		{"terminal, lines (CI)", nil, nil, true},
		{"TERM=dumb", []string{"CI=", "TERM=dumb"}, nil, false},
		{"NO_COLOR", []string{"NO_COLOR=1"}, nil, false},
		{"--no-color", nil, []string{"--no-color"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := p.startTerm(tt.env, append(tt.args, "restart", "local")...)
			if code := tm.wait(); code != 0 {
				t.Fatalf("exit %d\n%q", code, tm.screen())
			}
			tm.expect(0, "restarted the processes of local")
			out := tm.screen()
			if strings.Contains(out, esc) != tt.escapes {
				t.Errorf("escape sequences: %v, want %v:\n%q", strings.Contains(out, esc), tt.escapes, out)
			}
		})
	}
}
