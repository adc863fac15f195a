package hostcmd

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Each script that no other test in this package runs, run on its own
// through the local transport on a temp dir.

func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUnswitchScript(t *testing.T) {
	d := t.TempDir()
	mkdirs(t, d, "releases/r1", "releases/r2")
	if err := os.Symlink("releases/r2", filepath.Join(d, "current")); err != nil {
		t.Fatal(err)
	}
	// Another release is current: nothing changes.
	if _, _, code := runLocal(t, Unswitch(d, "r1"), ""); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if cur, _ := os.Readlink(filepath.Join(d, "current")); cur != "releases/r2" {
		t.Fatalf("current -> %q after unswitching r1", cur)
	}
	if _, _, code := runLocal(t, Unswitch(d, "r2"), ""); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Lstat(filepath.Join(d, "current")); !os.IsNotExist(err) {
		t.Errorf("current still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d, "releases", "r2")); err != nil {
		t.Errorf("the release went with it: %v", err)
	}
	if _, _, code := runLocal(t, Unswitch(filepath.Join(d, "missing"), "r1"), ""); code != 0 {
		t.Errorf("missing deploy_to: exit %d", code)
	}
}

func TestLockInfoScript(t *testing.T) {
	d := t.TempDir()
	out, _, code := runLocal(t, LockInfo(d), "")
	kv := ParseKV(out)
	if now := time.Now().Unix(); code != 0 || len(kv) != 1 || kv["now"] == "" || kv["now"] < "1" {
		t.Fatalf("unlocked: exit %d, %q (now %d)", code, out, now)
	}
	if _, stderr, code := runLocal(t, Lock(d, "notes", "tok", time.Minute, "owner=ann\nmessage=a b"), ""); code != 0 {
		t.Fatalf("lock: %d %s", code, stderr)
	}
	out, _, _ = runLocal(t, LockInfo(d), "")
	kv = ParseKV(out)
	if kv["owner"] != "ann" || kv["message"] != "a b" || kv["token"] != "tok" || kv["expires"] == "" || kv["now"] == "" {
		t.Errorf("locked: %q", out)
	}
	if out, _, code := runLocal(t, LockInfo(filepath.Join(d, "none")), ""); code != 0 || !strings.HasPrefix(out, "now=") {
		t.Errorf("missing deploy_to: exit %d, %q", code, out)
	}
}

func TestJournalScripts(t *testing.T) {
	d := filepath.Join(t.TempDir(), "app") // .plat is made
	for _, l := range []string{"p1 upload r3", "p2 upload r4", "p1 switch r3", "p10 switch r9"} {
		if _, stderr, code := runLocal(t, Journal(d, l), ""); code != 0 {
			t.Fatalf("journal %q: %d %s", l, code, stderr)
		}
	}
	out, _, code := runLocal(t, ReadJournal(d, "p1"), "")
	if code != 0 || out != "p1 upload r3\np1 switch r3\n" {
		t.Errorf("read p1: exit %d, %q", code, out)
	}
	if out, _, code := runLocal(t, ReadJournal(t.TempDir(), "p1"), ""); code != 0 || out != "" {
		t.Errorf("no journal: exit %d, %q", code, out)
	}
}

func TestPromoteScript(t *testing.T) {
	d := t.TempDir()
	pids := filepath.Join(d, ".plat", "pids")
	mkdirs(t, d, ".plat/pids")
	write(t, filepath.Join(pids, "web.pid"), "100\n")
	write(t, filepath.Join(pids, "web.pid.next"), "200\n")
	write(t, filepath.Join(pids, "worker.pid"), "300\n")
	if _, _, code := runLocal(t, Promote(d, ".next"), ""); code != 0 {
		t.Fatalf("exit %d", code)
	}
	got := map[string]string{}
	ents, _ := os.ReadDir(pids)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(pids, e.Name()))
		got[e.Name()] = strings.TrimSpace(string(b))
	}
	if len(got) != 2 || got["web.pid"] != "200" || got["worker.pid"] != "300" {
		t.Errorf("pid files after promote: %v", got)
	}
	if _, _, code := runLocal(t, Promote(filepath.Join(d, "none"), ".next"), ""); code != 0 {
		t.Errorf("no pid dir: exit %d", code)
	}
}

func TestLogsScript(t *testing.T) {
	d := t.TempDir()
	mkdirs(t, d, ".plat/logs")
	write(t, filepath.Join(d, ".plat", "logs", "web.log"), "w1\nw2\nw3\n")
	write(t, filepath.Join(d, ".plat", "logs", "worker.log"), "k1\n")
	out, _, code := runLocal(t, Logs(d, 2, false, "web"), "")
	if code != 0 || out != "w2\nw3\n" {
		t.Errorf("web, 2 lines: exit %d, %q", code, out)
	}
	out, _, _ = runLocal(t, Logs(d, 1, false), "")
	if out != "==> web.log <==\nw3\n\n==> worker.log <==\nk1\n" {
		t.Errorf("every log: %q", out)
	}
	if out, _, code := runLocal(t, Logs(t.TempDir(), 5, false), ""); code != 0 || out != "" {
		t.Errorf("no logs: exit %d, %q", code, out)
	}
}

func TestInDirScripts(t *testing.T) {
	d := t.TempDir()
	rel := filepath.Join(d, "releases", "r1")
	mkdirs(t, d, "releases/r1/.profile.d", "releases/r1/.plat")
	write(t, filepath.Join(rel, ".profile.d", "a.sh"), `export FROM_PROFILE="home=$HOME"`+"\n")
	write(t, filepath.Join(rel, ".plat", "secrets.env"), "TOKEN='it'\\''s'\n")
	if err := os.Symlink("releases/r1", filepath.Join(d, "current")); err != nil {
		t.Fatal(err)
	}
	argv := []string{"sh", "-c", `printf '%s|%s|%s|%s\n' "$PWD" "$FROM_PROFILE" "${TOKEN-none}" "$1"`, "x", "a 'b' $c"}
	// HOME is the release dir while .profile.d runs (as Heroku's /app).
	want := func(dir, token string) string { return dir + "|home=" + dir + "|" + token + "|a 'b' $c\n" }
	for _, tc := range []struct {
		name string
		cmd  []string
		want string
	}{
		{"InDir", InDir(rel, argv).Args, want(rel, "it's")},
		{"InRelease", InRelease(d, "r1", argv).Args, want(rel, "it's")},
		{"InRelease current", InRelease(d, "", argv).Args, want(filepath.Join(d, "current"), "it's")},
		// Hooks get the profile, not the secrets.
		{"InCurrent", InCurrent(d, argv).Args, want(filepath.Join(d, "current"), "none")},
	} {
		out, stderr, code := runLocal(t, script(tc.cmd[2], tc.cmd[4:]...), "")
		if code != 0 || out != tc.want {
			t.Errorf("%s: exit %d, %q, want %q (%s)", tc.name, code, out, tc.want, stderr)
		}
	}
	// No release yet: InCurrent runs in deploy_to, as it is.
	empty := t.TempDir()
	out, _, code := runLocal(t, InCurrent(empty, []string{"pwd"}), "")
	if code != 0 || strings.TrimSpace(out) != empty {
		t.Errorf("InCurrent without a release: exit %d, %q", code, out)
	}
	if _, _, code := runLocal(t, InDir(filepath.Join(d, "missing"), []string{"true"}), ""); code != 1 {
		t.Errorf("InDir of a missing dir: exit %d, want 1", code)
	}
}

func TestShellScript(t *testing.T) {
	sh := Shell()
	out, _, code := runLocal(t, script(sh[2]), "echo \"$0\"; case $- in *i*) echo interactive;; *) echo batch;; esac\nexit 7\n")
	if code != 7 || !strings.HasSuffix(out, "batch\n") || (!strings.HasPrefix(out, "bash\n") && !strings.HasPrefix(out, "sh\n")) {
		t.Errorf("console without a terminal: exit %d, %q", code, out)
	}
}

// fakeSystemctl puts a systemctl on PATH that records its arguments and
// answers show from a file: this machine runs no systemd user manager
// (TestSystemdUserUnitsReal in cmd/plat runs the real one).
func fakeSystemctl(t *testing.T, show string) (calls string) {
	t.Helper()
	bin := t.TempDir()
	calls = filepath.Join(bin, "calls")
	write(t, filepath.Join(bin, "show"), show)
	fake := "#!/bin/sh\necho \"$*\" >> " + calls + "\n" +
		"case \"$2\" in show) u=; for a; do u=$a; done; sed -n \"/^unit $u\\$/,/^unit /{/^unit /d;p}\" " + filepath.Join(bin, "show") + ";; esac\n"
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return calls
}

func TestSystemdPsScript(t *testing.T) {
	calls := fakeSystemctl(t, "unit plat-notes-prod-web1-web.service\nMainPID=812\nActiveState=active\nSubState=running\nActiveEnterTimestamp=@1764700000\n"+
		"unit plat-notes-prod-web1-worker.service\nMainPID=0\nActiveState=inactive\nSubState=dead\nActiveEnterTimestamp=\nunit end\n")
	types := []string{"web", "worker"}
	out, _, code := runLocal(t, SystemdProcesses("notes", "prod", "web1", types), "")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	ps := ParseSystemdProcesses("notes", "prod", "web1", types, out)
	if len(ps) != 2 || !ps[0].Running || ps[0].PID != 812 || ps[1].Running || ps[1].PID != 0 {
		t.Errorf("processes = %+v from %q", ps, out)
	}
	b, _ := os.ReadFile(calls)
	if !strings.Contains(string(b), "--user show --timestamp=unix -p MainPID -p ActiveState") || strings.Count(string(b), "\n") != 2 {
		t.Errorf("systemctl calls: %q", b)
	}
}

func TestSystemdControlScripts(t *testing.T) {
	calls := fakeSystemctl(t, "")
	for _, cmd := range [][]string{
		SystemdControl("start", "notes", "prod", "web1", []string{"web"}).Args,
		SystemdControl("stop", "notes", "prod", "web1", nil).Args, // no units: no call
		SystemdRestart("notes", "prod", "web1", []string{"web", "worker"}).Args,
	} {
		if _, stderr, code := runLocal(t, script(cmd[2], cmd[4:]...), ""); code != 0 {
			t.Fatalf("%v: exit %d %s", cmd[4:], code, stderr)
		}
	}
	b, _ := os.ReadFile(calls)
	want := "--user start plat-notes-prod-web1-web.service\n" +
		"--user enable plat-notes-prod-web1-web.service plat-notes-prod-web1-worker.service\n" +
		"--user restart plat-notes-prod-web1-web.service plat-notes-prod-web1-worker.service\n"
	if string(b) != want {
		t.Errorf("systemctl calls:\n%s\nwant:\n%s", b, want)
	}
}

func TestWaitListenWithoutAProcess(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp here")
	}
	d := t.TempDir()
	// No pid file: exit 5.
	if _, _, code := runLocal(t, WaitListen(d, "web", ".next", 1, time.Second), ""); code != ExitListenNoProcess {
		t.Errorf("no pid file: exit %d, want %d", code, ExitListenNoProcess)
	}
	// A pid file whose process is gone: exit 1 at once, not after the timeout.
	mkdirs(t, d, ".plat/pids")
	write(t, filepath.Join(d, ".plat", "pids", "web.pid.next"), "999999999\n")
	start := time.Now()
	_, stderr, code := runLocal(t, WaitListen(d, "web", ".next", 1, 20*time.Second), "")
	if code != ExitListenDied || !strings.Contains(stderr, "the new web process (999999999) exited") || time.Since(start) > 5*time.Second {
		t.Errorf("dead process: exit %d after %s: %s", code, time.Since(start), stderr)
	}
}

func TestSystemdUnitsScript(t *testing.T) {
	fakeSystemctl(t, "unit plat-notes-prod-web1-web.service\nMainPID=812\nActiveState=active\nSubState=running\nActiveEnterTimestamp=@1764700000\n"+
		"unit plat-notes-prod-web1-worker.service\nMainPID=0\nActiveState=inactive\nSubState=dead\nActiveEnterTimestamp=\nunit end\n")
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	dir := filepath.Join(cfg, "systemd", "user")
	mkdirs(t, cfg, "systemd/user")
	// Two units of this host, one of another host, one not a service.
	for _, f := range []string{"plat-notes-prod-web1-worker.service", "plat-notes-prod-web1-web.service", "plat-notes-prod-web12-web.service", "plat-notes-prod-web1-web.timer"} {
		write(t, filepath.Join(dir, f), "[Unit]\n")
	}
	out, _, code := runLocal(t, SystemdUnits("notes", "prod", "web1"), "")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	ps := ParseSystemdUnits("notes", "prod", "web1", out)
	var got []string
	for _, p := range ps {
		got = append(got, p.Type+" "+p.Unit+" "+p.State())
	}
	want := []string{"web plat-notes-prod-web1-web.service active (running)", "worker plat-notes-prod-web1-worker.service inactive (dead)"}
	if strings.Join(got, "|") != strings.Join(want, "|") || ps[0].PID != 812 || !ps[0].Running || ps[1].Running {
		t.Errorf("units = %q (%+v), want %q\n%s", got, ps, want, out)
	}
	if out, _, code := runLocal(t, SystemdUnits("other", "prod", "web1"), ""); code != 0 || out != "" {
		t.Errorf("another app: exit %d, %q", code, out)
	}
}

func TestProcessState(t *testing.T) {
	for _, tc := range []struct {
		p    Process
		want string
	}{
		{Process{Running: true}, "running"},
		{Process{}, "dead"},
		{Process{ActiveState: "active", SubState: "running", Running: true}, "active (running)"},
		{Process{ActiveState: "failed"}, "failed"},
	} {
		if got := tc.p.State(); got != tc.want {
			t.Errorf("%+v.State() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

// TestStopFreesThePortOfAProcessThatIgnoresTERM: past the drain, stop
// KILLs and waits for the leader to be gone, so the port is free when it
// returns (the next generation's exclusive check sees no stranger).
func TestStopFreesThePortOfAProcessThatIgnoresTERM(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this machine")
	}
	d := t.TempDir()
	mkdirs(t, d, "releases/r1")
	port := freePort(t)
	start := Start(d, "r1", "", map[string]string{"web": "trap '' TERM; " + listener})
	start.Env = map[string]string{"PORT": strconv.Itoa(port)}
	if _, stderr, code := runLocal(t, start, ""); code != 0 {
		t.Fatalf("start: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { runLocal(t, Stop(d, 0, ""), "") })
	if out, stderr, code := runLocal(t, Owns(d, "web", "", port, 10*time.Second), ""); code != 0 {
		t.Fatalf("the listener: exit %d, %q %s", code, out, stderr)
	}
	b, _ := os.ReadFile(filepath.Join(d, ".plat", "pids", "web.pid"))
	pid := strings.TrimSpace(string(b))
	began := time.Now()
	out, _, code := runLocal(t, Stop(d, 300*time.Millisecond, "", "web"), "")
	if code != 0 || out != "stopped web "+pid+"\n" {
		t.Fatalf("stop: exit %d, %q", code, out)
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Errorf("stop took %s: it did not give the drain time to a process that ignores TERM", took)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("the port is still held when stop returns: %v", err)
	}
	l.Close()
	if st, err := os.ReadFile("/proc/" + pid + "/status"); err == nil && !strings.Contains(string(st), "\nState:\tZ") {
		t.Errorf("the leader %s still runs after stop", pid)
	}
}

// TestStopRightAfterStart: a process stopped the moment its start
// returns is stopped, not taken for a stale pid file (until the child has
// exec'd, /proc shows the forking shell's environment, without
// PLAT_PROCESS), and ps never calls it dead.
func TestStopRightAfterStart(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc here")
	}
	d := t.TempDir()
	mkdirs(t, d, "releases/r1")
	t.Cleanup(func() { runLocal(t, Stop(d, 0, ""), "") })
	for i := 0; i < 10; i++ {
		if _, stderr, code := runLocal(t, Start(d, "r1", "", map[string]string{"web": "exec sleep 30", "worker": "exec sleep 30"}), ""); code != 0 {
			t.Fatalf("start: exit %d: %s", code, stderr)
		}
		ps, _, _ := runLocal(t, Processes(d), "")
		for _, p := range ParseProcesses(ps) {
			if !p.Running {
				t.Fatalf("round %d: ps right after start: %q", i, ps)
			}
		}
		out, _, _ := runLocal(t, Stop(d, 0, ""), "")
		if strings.Contains(out, "stale") || strings.Count(out, "stopped ") != 2 {
			t.Fatalf("round %d: stop right after start: %q", i, out)
		}
	}
}
