package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// viaSetup is an admin node and two web hosts, all real sshd hosts of one
// fleet, and the notes project on "the laptop" with environment prod
// running via the admin node.
//
// What the fleet allows: every host is an sshd on a loopback address of
// this machine, logging in as root with HOME set to the host's own
// directory. A command on the admin node can therefore reach the web
// hosts' sshd on their loopback addresses, as an admin node reaches the
// servers it deploys to; it does so through its own ~/.ssh/config (the
// admin host's HOME), which names web1 and web2. The laptop's HOME has
// an ssh_config that names only admin1: the laptop cannot reach the web
// hosts at all, so everything prod does must go through the admin node.
//
// The app's git remote is a bare repository in the admin host's own
// directory, fetched by file:// URL: the stand-in for the team's git
// server. Laptop and admin node share this machine's filesystem, so the
// laptop `git push`es there as it would to a server, and the admin node
// fetches the commit it is told from the same URL, with no network
// service the test would have to run.
type viaSetup struct {
	t      *testing.T
	p      *project
	fleet  *sshtest.Fleet
	admin  *sshtest.Host
	webs   []*sshtest.Host
	ports  []int
	remote string // the bare repository
	appDir string // the app's directory on the admin node
}

func newViaSetup(t *testing.T) *viaSetup {
	t.Helper()
	fleet := sshtest.NewWithOptions(t, sshtest.Options{N: 3, Names: []string{"admin1", "web1", "web2"}})
	s := &viaSetup{t: t, p: newProject(t), fleet: fleet, admin: fleet.Host("admin1"), webs: fleet.Hosts[1:]}
	p := s.p
	s.ports = make([]int, len(s.webs))
	base := freePorts(t, len(s.webs))

	// The laptop reaches only the admin node.
	laptopHome := t.TempDir()
	writeSSHConfig(t, laptopHome, fleet, []*sshtest.Host{s.admin})
	p.env = append(p.env, "HOME="+laptopHome, "SSH_AUTH_SOCK=")
	// The admin node reaches the web hosts.
	writeSSHConfig(t, s.admin.Home, fleet, s.webs)

	var b strings.Builder
	fmt.Fprintf(&b, "\nenvironment \"prod\" {\n  via = \"admin1\"\n  provider \"ssh\" {}\n")
	fmt.Fprintf(&b, "  env = {\n    NOTES_DB = %q\n  }\n", filepath.Join(p.root, "prod.sqlite3"))
	b.WriteString("  cluster \"web\" {\n    hosts = [\"web1\", \"web2\"]\n")
	for i, h := range s.webs {
		s.ports[i] = base + i
		fmt.Fprintf(&b, "    host %q {\n      deploy_to = %q\n      port = %d\n    }\n", h.Name, h.Root, s.ports[i])
	}
	b.WriteString("  }\n}\n")
	hcl := filepath.Join(p.dir, "plat.hcl")
	orig, err := os.ReadFile(hcl)
	if err != nil {
		t.Fatal(err)
	}
	// The example's own prod (hosts that do not exist) gives way to this one.
	src := string(orig)
	i := strings.Index(src, "environment \"prod\" {")
	j := strings.Index(src[i:], "\n}\n")
	if i < 0 || j < 0 {
		t.Fatal("the example has no prod environment to replace")
	}
	src = src[:i] + src[i+j+3:] + b.String()
	if err := os.WriteFile(hcl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "prod runs via admin1")

	s.remote = filepath.Join(s.admin.Dir, "git", "notes.git")
	if out, err := exec.Command("git", "clone", "-q", "--bare", p.dir, s.remote).CombinedOutput(); err != nil {
		t.Fatalf("git clone --bare: %v\n%s", err, out)
	}
	p.git("remote", "add", "origin", "file://"+s.remote)

	// A state dir copied with the example (other tests run plat in
	// examples/notes) is not the laptop's.
	if err := os.RemoveAll(filepath.Join(p.dir, ".plat")); err != nil {
		t.Fatal(err)
	}
	// The laptop has no private settings at all; the admin node keeps
	// prod's beside its checkout, where plat.hcl's
	// private = "../notes-private/${env.name}" points from there.
	if err := os.RemoveAll(filepath.Join(p.root, "notes-private")); err != nil {
		t.Fatal(err)
	}
	s.appDir = filepath.Join(s.admin.Home, ".plat", "apps", "notes")
	priv := filepath.Join(s.appDir, "notes-private", "prod")
	if err := os.MkdirAll(priv, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(priv, "settings.json"), []byte(`{"greeting": "Hello from admin1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Stop the web processes on the hosts, through the admin node's
		// own plat (the laptop cannot reach the hosts).
		s.onAdmin("down", "prod")
	})
	return s
}

// writeSSHConfig gives home an ~/.ssh/config naming hosts.
func writeSSHConfig(t *testing.T, home string, f *sshtest.Fleet, hosts []*sshtest.Host) {
	t.Helper()
	var b strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&b, "Host %s\n  HostName %s\n  Port %d\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n",
			h.Name, h.Addr, h.Port, f.KeyFile, f.KnownHosts)
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// commit changes a file, commits and pushes it to the remote.
func (s *viaSetup) commit(name, content string) {
	s.t.Helper()
	s.p.write(name, content)
	s.p.git("push", "-q", "origin", "main")
}

// bins lists the plat binaries on the admin node.
func (s *viaSetup) bins() []string {
	s.t.Helper()
	m, _ := filepath.Glob(filepath.Join(s.admin.Home, ".plat", "bin", "plat-*"))
	return m
}

// onAdmin runs the admin node's plat for prod's last commit directly, as
// via-exec does when the laptop asks (used to compare output and to clean
// up).
func (s *viaSetup) onAdmin(args ...string) result {
	s.t.Helper()
	bins := s.bins()
	if len(bins) == 0 {
		return result{code: -1}
	}
	head, _ := exec.Command("git", "-C", s.p.dir, "rev-parse", "HEAD").Output()
	argv := append([]string{"via-exec", "--app", "notes", "--remote", "file://" + s.remote, "--commit", strings.TrimSpace(string(head)), "--branch", "main",
		"--pusher", "test", "--", "--var", fmt.Sprintf("base_port=%d", s.p.port)}, args...)
	cmd := exec.Command(bins[0], argv...)
	cmd.Env = append(os.Environ(), "HOME="+s.admin.Home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// Open stdin, as over SSH: its end is how the pusher cancels.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	defer stdin.Close()
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return result{code, out.String(), errb.String()}
}

// addPause gives prod a rollout of two stages with a 60s pause between
// them, committed and pushed.
func (s *viaSetup) addPause() {
	s.t.Helper()
	// prod's block is the file's last.
	hcl, err := os.ReadFile(filepath.Join(s.p.dir, "plat.hcl"))
	if err != nil || !strings.HasSuffix(string(hcl), "  }\n}\n") {
		s.t.Fatalf("plat.hcl does not end with prod's block: %v", err)
	}
	s.commit("plat.hcl", strings.TrimSuffix(string(hcl), "}\n")+"  rollout {\n    stages = [1, \"100%\"]\n    pause  = \"60s\"\n  }\n}\n")
}

// waitUnlocked waits until no web host is locked, for at most d after since.
func (s *viaSetup) waitUnlocked(since time.Time, d time.Duration) {
	s.t.Helper()
	for {
		locked := false
		for _, h := range s.webs {
			if _, err := os.Stat(filepath.Join(h.Root, ".plat", "lock")); err == nil {
				locked = true
			}
		}
		if !locked {
			s.t.Logf("lock released %s after the laptop was killed", time.Since(since).Round(time.Millisecond))
			return
		}
		if time.Since(since) > d {
			s.t.Fatalf("the admin node's plat still holds the lock %s after the laptop vanished (the pause is 60s: it was not cancelled)", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *viaSetup) assertOn(id string) {
	s.t.Helper()
	for _, h := range s.webs {
		cur, _ := os.Readlink(filepath.Join(h.Root, "current"))
		if cur != "releases/"+id {
			s.t.Errorf("%s: current -> %q, want releases/%s", h.Name, cur, id)
		}
	}
}

// assertServesWhatItRuns: every web host is on r1 or r2, whole: its
// current release is one of them and its web process serves that one.
func (s *viaSetup) assertServesWhatItRuns() {
	t := s.t
	t.Helper()
	for i, h := range s.webs {
		cur, _ := os.Readlink(filepath.Join(h.Root, "current"))
		id := strings.TrimPrefix(cur, "releases/")
		if id != "r1" && id != "r2" {
			t.Errorf("%s: current -> %q, want r1 or r2", h.Name, cur)
			continue
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			body, err := getPort(t, s.ports[i], "/")
			if err == nil && strings.Contains(body, "release "+id) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s runs %s but does not serve it: %v %s", h.Name, id, err, body)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func (s *viaSetup) assertUnlocked() {
	s.t.Helper()
	for _, h := range s.webs {
		if _, err := os.Stat(filepath.Join(h.Root, ".plat", "lock")); err == nil {
			s.t.Errorf("%s is still locked", h.Name)
		}
	}
}

// assertNothingOnLaptop: the laptop's project holds no store, no
// releases and no private settings.
func (s *viaSetup) assertNothingOnLaptop() {
	s.t.Helper()
	if _, err := os.Stat(filepath.Join(s.p.dir, ".plat")); err == nil {
		entries, _ := filepath.Glob(filepath.Join(s.p.dir, ".plat", "*"))
		s.t.Errorf("the laptop's project has a .plat directory: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(s.p.root, "notes-private")); err == nil {
		s.t.Error("the laptop has private settings")
	}
}

func TestViaAdminNode(t *testing.T) {
	s := newViaSetup(t)
	p := s.p
	s.p.git("push", "-q", "origin", "main")
	s.assertNothingOnLaptop()
	// env show is read here, from the laptop's plat.hcl.
	if r := p.mustPlat("--json", "env", "show", "prod"); !strings.Contains(r.stdout, `"via":"admin1"`) {
		t.Errorf("env show --json:\n%s", r.stdout)
	}

	// First push: plat uploads itself, the admin node builds with its
	// private settings and pushes to both web hosts.
	r := p.plat("push", "prod")
	if r.code != 0 {
		t.Fatalf("push via admin1: %s", r)
	}
	if !strings.Contains(r.stderr, "via admin1: uploading plat") {
		t.Errorf("first push did not say it uploads plat:\n%s", r.stderr)
	}
	for _, h := range []string{"[web1] ", "[web2] ", "[localhost] running: build"} {
		if !strings.Contains(r.stdout, h) {
			t.Errorf("push output lacks %q lines:\n%s", h, r.stdout)
		}
	}
	bins := s.bins()
	if len(bins) != 1 {
		t.Fatalf("binaries on the admin node: %v", bins)
	}
	st1, _ := os.Stat(bins[0])
	if st1.Mode().Perm() != 0o755 {
		t.Errorf("%s mode %v", bins[0], st1.Mode())
	}
	s.assertOn("r1")
	serves(t, s.ports, "Hello from admin1")
	for _, h := range s.webs {
		fi, err := os.Stat(filepath.Join(h.Root, "current", "settings.json"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: private settings from the admin node: %v %v", h.Name, fi, err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.appDir, "src", ".plat", "store")); err != nil {
		t.Errorf("the admin node has no release store: %v", err)
	}
	s.assertNothingOnLaptop()

	// Second push, --json: the same binary is reused, and the laptop's
	// stdout is the admin node's event stream.
	s.commit("VERSION", "via-2\n")
	r = p.plat("--json", "push", "prod")
	if r.code != 0 {
		t.Fatalf("second push: %s", r)
	}
	if strings.Contains(r.stderr, "uploading plat") {
		t.Errorf("second push uploaded plat again:\n%s", r.stderr)
	}
	if b := s.bins(); len(b) != 1 || b[0] != bins[0] {
		t.Errorf("binaries after the second push: %v", b)
	}
	if st2, _ := os.Stat(bins[0]); !st2.ModTime().Equal(st1.ModTime()) || inode(t, bins[0]) != st1.Sys().(*syscall.Stat_t).Ino {
		t.Error("the binary on the admin node was rewritten")
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("--json push: a line that is not JSON: %q", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, `"type":"result"`) || !strings.Contains(last, `"r2"`) {
		t.Errorf("--json push: last line %s", last)
	}
	s.assertOn("r2")
	serves(t, s.ports, "via-2")
	head, _ := exec.Command("git", "-C", p.dir, "rev-parse", "HEAD").Output()
	if rel := p.mustPlat("--json", "releases", "prod"); !strings.Contains(rel.stdout, `"git_sha":"`+strings.TrimSpace(string(head))+`"`) {
		t.Errorf("the admin node did not push the laptop's commit %s", head)
	}

	// --json output is byte for byte what plat prints on the admin node.
	// (diff: a document that does not change between two runs; releases
	// takes each release's time from whichever host answers first.)
	r = p.plat("--json", "diff", "prod", "r1", "r2")
	direct := s.onAdmin("--json", "diff", "prod", "r1", "r2")
	if r.code != 0 || direct.code != 0 || r.stdout != direct.stdout || !strings.Contains(r.stdout, `"VERSION"`) {
		t.Errorf("diff --json via admin1 differs from the admin node's own:\nvia: %s\ndirect: %s", r, direct)
	}

	// releases, status and diff go through the admin node (the laptop
	// has neither the hosts' ssh config nor a store).
	r = p.mustPlat("releases", "prod")
	if !strings.Contains(r.stdout, "r1") || !strings.Contains(r.stdout, "r2 *") || !strings.Contains(r.stdout, "(via admin1)") {
		t.Errorf("releases via admin1:\n%s", r)
	}
	r = p.mustPlat("status", "prod")
	for _, h := range s.webs {
		if !strings.Contains(r.stdout, h.Name) || !strings.Contains(r.stdout, "r2") {
			t.Errorf("status via admin1 lacks %s on r2:\n%s", h.Name, r)
		}
	}
	r = p.mustPlat("diff", "prod", "r1", "r2")
	if !strings.Contains(r.stdout, "~ VERSION") {
		t.Errorf("diff via admin1:\n%s", r)
	}

	// A failing health check fails the push on the admin node: exit 1 on
	// the laptop, the hosts back on r2, the lock released.
	s.commit("Procfile", "web: exec sleep 600\n")
	r = p.plat("push", "prod")
	if r.code != 1 {
		t.Errorf("push with a failing health check: exit %d, want 1\n%s", r.code, r)
	}
	s.assertOn("r2")
	s.assertUnlocked()

	// Rollback via the admin node, from its store.
	r = p.plat("rollback", "prod", "r1")
	if r.code != 0 {
		t.Fatalf("rollback via admin1: %s", r)
	}
	s.assertOn("r1")
	serves(t, s.ports, "Hello from admin1")
	s.assertNothingOnLaptop()

	// Bad input is reported on the laptop before anything runs remotely.
	if err := os.WriteFile(filepath.Join(p.dir, "x.hcl"), []byte("region = \"phx2\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = p.plat("--var-file", filepath.Join(p.dir, "x.hcl"), "status", "prod")
	if r.code != 2 || !strings.Contains(r.stderr, "--var-file names a file on this machine") {
		t.Errorf("--var-file with via: %s", r)
	}
	// The admin node's host key is verified: one the laptop does not
	// know is refused before anything runs there.
	stranger := t.TempDir()
	writeSSHConfig(t, stranger, s.fleet, []*sshtest.Host{s.admin})
	cfg := filepath.Join(stranger, ".ssh", "config")
	b, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.ReplaceAll(string(b), s.fleet.KnownHosts, filepath.Join(stranger, "known_hosts"))), 0o600)
	saved := p.env
	p.env = append(append([]string{}, p.env...), "HOME="+stranger)
	r = p.plat("status", "prod")
	p.env = saved
	if r.code != 1 || !strings.Contains(r.stderr, "connect to the admin node") || !strings.Contains(r.stderr, "known_hosts") {
		t.Errorf("an unknown admin node host key: %s", r)
	}

	p.write("VERSION", "not pushed\n") // committed, never pushed to the remote
	r = p.plat("status", "prod")
	if r.code == 0 || !strings.Contains(r.stderr, "push it there first") {
		t.Errorf("status on a commit the remote lacks: %s", r)
	}
}

// TestViaAdminNodeInterrupt: ^C (SIGINT to the laptop's plat) mid-switch
// reaches the admin node's plat, which runs its cancel path: no lock is
// left and every host runs a complete release it serves.
func TestViaAdminNodeInterrupt(t *testing.T) {
	s := newViaSetup(t)
	p := s.p
	s.p.git("push", "-q", "origin", "main")
	p.mustPlat("push", "prod")
	s.assertOn("r1")

	// The new release's web process takes a while to start, so the first
	// host's switch (health check) is under way when ^C comes.
	s.commit("Procfile", "web: sleep 4 && exec python3 app.py\n")
	cmd := exec.Command(platBin, "-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port), "--json", "push", "prod")
	cmd.Env = append(append(os.Environ(), "CI=true"), p.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sent := time.Time{}
	var switched []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var stream strings.Builder
	for sc.Scan() {
		stream.WriteString(sc.Text() + "\n")
		var e platform.Event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if e.Type == platform.EventStepStart && strings.HasPrefix(e.Step, "switch ") {
			switched = append(switched, e.Host)
			if sent.IsZero() {
				// A second pusher meanwhile finds the lock held: exit 3
				// comes back from the admin node.
				if r := p.plat("push", "prod"); r.code != 3 || !strings.Contains(r.stderr, "(via admin1)") {
					t.Errorf("a push while another holds the lock: exit %d, want 3 naming the holder\n%s", r.code, r)
				}
				cmd.Process.Signal(syscall.SIGINT)
				sent = time.Now()
			}
		}
	}
	err = cmd.Wait()
	took := time.Since(sent)
	if sent.IsZero() {
		t.Fatalf("the push never reached a switch: %v\n%s", err, stderr.String())
	}
	if err == nil {
		t.Fatalf("the interrupted push exited 0\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted: the admin node is cancelling") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	// It was the interrupt that ended the push there, not a failure.
	if !strings.Contains(stream.String(), "push interrupted") {
		t.Errorf("the admin node's event stream does not end with the interrupt:\n%s", stream.String())
	}
	// The laptop's plat returns when the admin node's has ended, and that
	// one released the lock: a killed plat could not have.
	s.assertUnlocked()
	s.assertServesWhatItRuns()
	t.Logf("the push ended %s after ^C; switch steps (and switch-backs) began on %v", took.Round(time.Millisecond), switched)

	// The environment is usable at once: the next push takes the lock.
	s.commit("Procfile", "web: exec python3 app.py\n")
	r := p.plat("push", "prod")
	if r.code != 0 {
		t.Fatalf("push after the interrupt: %s", r)
	}
	s.assertUnlocked()
}

// TestViaAdminNodeTerminal: on a terminal the admin node's plat runs on a
// remote terminal, so the laptop shows its live view, and ^C typed at the
// laptop's keyboard reaches it (the laptop's terminal is in raw mode) and
// cancels the push cleanly.
func TestViaAdminNodeTerminal(t *testing.T) {
	s := newViaSetup(t)
	p := s.p
	s.p.git("push", "-q", "origin", "main")
	p.mustPlat("push", "prod")
	s.commit("Procfile", "web: sleep 4 && exec python3 app.py\n")

	env := "env -u CI -u PLAT_JSON -u NO_COLOR TERM=xterm-256color"
	for _, kv := range p.env {
		env += " " + shq(kv)
	}
	tm := newTmux(t, 120, 50, fmt.Sprintf("%s %s -C %s --var base_port=%d push prod; echo \"[exit $?]\"; sleep 3600",
		env, shq(platBin), shq(p.dir), p.port))
	// The live view's block: one row per host, redrawn in place (plain
	// lines would be "[web1] running: …").
	liveSwitch := regexp.MustCompile(`^  web\d\s.*switch r2`)
	tm.waitFor("the live view switching a host", func(rows []string) bool {
		for _, r := range rows {
			if liveSwitch.MatchString(r) {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second)
	tm.run("send-keys", "-t", "t", "C-c")
	rows := tm.waitFor("the end of the push", exited)
	all := strings.Join(rows, "\n")
	if strings.Contains(all, "[exit 0]") {
		t.Fatalf("the push was not cancelled:\n%s", all)
	}
	for _, r := range rows {
		if strings.HasPrefix(r, "[web1] running:") {
			t.Errorf("plain lines on a terminal, not the live view:\n%s", all)
			break
		}
	}
	s.assertUnlocked()
	s.assertServesWhatItRuns()
	t.Logf("pane at the end:\n%s", all)
}

// TestViaAdminNodeLaptopGone: the laptop's plat is killed (SIGKILL: no
// chance to say anything) during the rollout's 60s pause between stages.
// Its SSH connection closes, the admin node's plat sees its input end,
// cancels as for ^C, and releases the lock long before the pause would
// have ended: a vanished laptop does not leave the environment locked.
func TestViaAdminNodeLaptopGone(t *testing.T) {
	s := newViaSetup(t)
	p := s.p
	s.p.git("push", "-q", "origin", "main")
	p.mustPlat("push", "prod")
	s.addPause()

	cmd := exec.Command(platBin, "-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port), "--json", "push", "prod")
	cmd.Env = append(append(os.Environ(), "CI=true"), p.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var killed time.Time
	for sc.Scan() {
		var e platform.Event
		if killed.IsZero() && json.Unmarshal(sc.Bytes(), &e) == nil && strings.HasPrefix(e.Message, "pausing 1m0s before stage 2/2") {
			cmd.Process.Kill()
			killed = time.Now()
		}
	}
	cmd.Wait()
	if killed.IsZero() {
		t.Fatal("the push never reached the pause")
	}
	s.waitUnlocked(killed, 30*time.Second)
	for i, h := range s.webs {
		cur, _ := os.Readlink(filepath.Join(h.Root, "current"))
		id := strings.TrimPrefix(cur, "releases/")
		if id != "r1" && id != "r2" {
			t.Errorf("%s: current -> %q, want r1 or r2", h.Name, cur)
			continue
		}
		if body, err := getPort(t, s.ports[i], "/"); err != nil || !strings.Contains(body, "release "+id) {
			t.Errorf("%s runs %s but does not serve it: %v %s", h.Name, id, err, body)
		}
	}
}

// TestViaAdminNodeLaptopGoneTerminal is TestViaAdminNodeLaptopGone on a
// terminal: the admin node's plat runs on a remote terminal, which sshd
// hangs up when the connection goes; plat takes SIGHUP as ^C.
func TestViaAdminNodeLaptopGoneTerminal(t *testing.T) {
	s := newViaSetup(t)
	p := s.p
	s.p.git("push", "-q", "origin", "main")
	p.mustPlat("push", "prod")
	s.addPause()

	env := "env -u CI -u PLAT_JSON -u NO_COLOR TERM=xterm-256color"
	for _, kv := range p.env {
		env += " " + shq(kv)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The shell writes its pid and execs plat, so the pid is plat's.
	tm := newTmux(t, 120, 50, fmt.Sprintf("sh -c 'echo $$ > %s; exec %s %s -C %s --var base_port=%d push prod'; echo \"[exit $?]\"; sleep 3600",
		pidFile, env, shq(platBin), shq(p.dir), p.port))
	tm.waitFor("the pause", func(rows []string) bool {
		return strings.Contains(strings.Join(rows, "\n"), "pausing 1m0s before stage 2/2")
	})
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.waitUnlocked(time.Now(), 30*time.Second)
	for _, h := range s.webs {
		cur, _ := os.Readlink(filepath.Join(h.Root, "current"))
		if cur != "releases/r1" && cur != "releases/r2" {
			t.Errorf("%s: current -> %q, want r1 or r2", h.Name, cur)
		}
	}
}

// startPush starts `plat --json push prod` on the laptop and returns it
// once the rollout is in its 60s pause (addPause), holding the lock on
// the web hosts; the test's cleanup kills it if the test has not waited.
func (s *viaSetup) startPush() *exec.Cmd {
	s.t.Helper()
	p := s.p
	cmd := exec.Command(platBin, "-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port), "--json", "push", "prod")
	cmd.Env = append(append(os.Environ(), "CI=true"), p.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e platform.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && strings.HasPrefix(e.Message, "pausing 1m0s before stage 2/2") {
			go io.Copy(io.Discard, stdout)
			return cmd
		}
	}
	s.t.Fatal("the push never reached the pause")
	return nil
}

// TestViaAdminNodeLock: `plat lock prod` and `plat lock prod break` go
// through the admin node, as the exit-3 hint tells a second pusher to run
// them from wherever they are: while a push holds prod's lock, the laptop
// (which cannot reach the web hosts) shows its holder and breaks it, and
// the break is recorded on the hosts as done by the laptop's user via
// the admin node.
func TestViaAdminNodeLock(t *testing.T) {
	s := newViaSetup(t)
	p := s.p
	s.p.git("push", "-q", "origin", "main")
	if r := p.mustPlat("lock", "prod"); !strings.Contains(r.stdout, "prod is not locked") {
		t.Errorf("lock prod, unlocked:\n%s", r)
	}
	p.mustPlat("push", "prod")
	s.addPause()
	push := s.startPush()

	r := p.mustPlat("lock", "prod")
	for _, h := range s.webs {
		if !regexp.MustCompile(`(?m)^` + h.Name + `: locked by \S+ \(via admin1\) since .*, held, lease until `).MatchString(r.stdout) {
			t.Errorf("lock prod during a push does not show %s held by the pusher via admin1:\n%s", h.Name, r)
		}
	}
	var doc struct {
		Hosts []struct {
			Host   string `json:"host"`
			Locked bool   `json:"locked"`
		} `json:"hosts"`
	}
	js := p.mustPlat("--json", "lock", "prod")
	if err := json.Unmarshal([]byte(js.stdout), &doc); err != nil || len(doc.Hosts) != 2 || !doc.Hosts[0].Locked || !doc.Hosts[1].Locked {
		t.Errorf("lock prod --json via admin1: %v\n%s", err, js.stdout)
	}

	r = p.mustPlat("lock", "prod", "break")
	for _, h := range s.webs {
		if !regexp.MustCompile(`(?m)^` + h.Name + `: broke the lock held by \S+ \(via admin1\) since `).MatchString(r.stdout) {
			t.Errorf("lock prod break does not say it broke %s's lock:\n%s", h.Name, r)
		}
		log, _ := os.ReadFile(filepath.Join(h.Root, "revisions.log"))
		if !regexp.MustCompile(`\S+ \(via admin1\) broke the deploy lock held by \S+ \(via admin1\)`).Match(log) {
			t.Errorf("%s: revisions.log does not record the break via admin1:\n%s", h.Name, log)
		}
	}
	s.assertUnlocked()
	if r := p.mustPlat("lock", "prod"); !strings.Contains(r.stdout, "prod is not locked") {
		t.Errorf("lock prod after the break:\n%s", r)
	}
	s.assertNothingOnLaptop()

	// The push whose lock was broken is still paused; ^C ends it.
	push.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- push.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the push did not end 30s after ^C")
	}
	s.assertUnlocked()
}

// TestViaAdminNodePromote: `plat promote qa prod` runs on the admin node
// that both environments run via: the laptop, whose HEAD has moved on
// (and which holds neither store nor private settings), promotes the
// build qa runs to prod without building, and prod serves qa's build with
// prod's private settings. promote between environments that run in
// different places is refused before anything runs, naming both.
func TestViaAdminNodePromote(t *testing.T) {
	s := newViaSetup(t)
	p := s.p
	web1 := s.webs[0]
	qaPort := freePorts(t, 1)
	qa := fmt.Sprintf("\nenvironment \"qa\" {\n  via = \"admin1\"\n  provider \"ssh\" {}\n  env = {\n    NOTES_DB = %q\n  }\n"+
		"  cluster \"web\" {\n    hosts = [\"web1\"]\n    host \"web1\" {\n      deploy_to = %q\n      port = %d\n    }\n  }\n}\n",
		filepath.Join(p.root, "qa.sqlite3"), filepath.Join(t.TempDir(), "qa"), qaPort)
	hcl, err := os.ReadFile(filepath.Join(p.dir, "plat.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	s.commit("plat.hcl", string(hcl)+qa)
	priv := filepath.Join(s.appDir, "notes-private", "qa")
	if err := os.MkdirAll(priv, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(priv, "settings.json"), []byte(`{"greeting": "Hello from qa"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.onAdmin("down", "qa") })

	// Refused on the laptop, exit 2, before anything runs anywhere.
	for _, args := range [][]string{{"local", "prod"}, {"qa", "local"}} {
		r := p.plat("promote", args[0], args[1])
		if r.code != 2 || !strings.Contains(r.stderr, "promote "+args[0]+" "+args[1]+":") || !strings.Contains(r.stderr, "local runs here (no via)") ||
			!regexp.MustCompile(`(qa|prod) runs via admin1`).MatchString(r.stderr) {
			t.Errorf("promote %s %s: want exit 2 naming where each runs, got %s", args[0], args[1], r)
		}
	}
	if len(s.bins()) != 0 {
		t.Errorf("a refused promote uploaded plat: %v", s.bins())
	}

	p.mustPlat("push", "qa")
	if body, err := getPort(t, qaPort, "/"); err != nil || !strings.Contains(body, "notes 1.0.0") || !strings.Contains(body, "Hello from qa") {
		t.Fatalf("qa serves: %v\n%s", err, body)
	}
	// The laptop moves on; promote must not build its commit.
	s.commit("VERSION", "2.0.0\n")

	r := p.mustPlat("promote", "qa", "prod")
	if strings.Contains(r.stdout, "running: build") || !strings.Contains(r.stdout, "running: promote (qa r1, notes@") {
		t.Errorf("promote via admin1 built, or did not say what it promotes:\n%s", r)
	}
	s.assertOn("r1")
	for i, port := range s.ports {
		body, err := getPort(t, port, "/")
		if err != nil || !strings.Contains(body, "notes 1.0.0") || !strings.Contains(body, "Hello from admin1") || strings.Contains(body, "Hello from qa") {
			t.Errorf("prod %s serves, after promoting qa r1: %v\n%s", s.webs[i].Name, err, body)
		}
	}
	if cur, _ := os.Readlink(filepath.Join(web1.Root, "current")); cur != "releases/r1" {
		t.Errorf("web1 prod: current -> %q", cur)
	}
	if rel := p.mustPlat("releases", "prod"); !strings.Contains(rel.stdout, "PROMOTED FROM") || !strings.Contains(rel.stdout, "qa r1") {
		t.Errorf("releases prod via admin1 does not show where r1 came from:\n%s", rel)
	}
	s.assertUnlocked()
	s.assertNothingOnLaptop()
}
