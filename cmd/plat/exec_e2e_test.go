package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// ptyTerm is plat running on a real pseudo-terminal, as a user's shell runs
// it: plat's stdin, stdout and stderr are the terminal's slave side, its
// controlling terminal (so resizing the master sends it SIGWINCH); the
// test types into the master and reads what the terminal shows.
type ptyTerm struct {
	t     *testing.T
	ptmx  *os.File
	tty   *os.File
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   bytes.Buffer
	read  chan struct{}
	saved *unix.Termios
}

func (p *project) startTerm(env []string, args ...string) *ptyTerm {
	p.t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		p.t.Fatal(err)
	}
	saved, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		p.t.Fatal(err)
	}
	args = append([]string{"-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port)}, args...)
	cmd := exec.Command(platBin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.Env = append(append(os.Environ(), "CI=true", "TERM=xterm"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	tm := &ptyTerm{t: p.t, ptmx: ptmx, tty: tty, cmd: cmd, read: make(chan struct{}), saved: saved}
	go func() {
		defer close(tm.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	p.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ptmx.Close()
		tty.Close()
	})
	return tm
}

func (tm *ptyTerm) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// expect waits (bounded) until the terminal has shown a match of re
// since mark, and returns the position after it.
func (tm *ptyTerm) expect(mark int, re string) int {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		s := tm.screen()
		if loc := rx.FindStringIndex(s[mark:]); loc != nil {
			return mark + loc[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.t.Fatalf("terminal never showed %q; it shows:\n%q", re, tm.screen()[mark:])
	return 0
}

func (tm *ptyTerm) send(s string) {
	tm.t.Helper()
	if _, err := tm.ptmx.Write([]byte(s)); err != nil {
		tm.t.Fatal(err)
	}
}

// wait returns plat's exit code, and checks plat gave the terminal back
// in the mode it found it (echo, canonical input, signals).
func (tm *ptyTerm) wait() int {
	tm.t.Helper()
	done := make(chan error, 1)
	go func() { done <- tm.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		tm.t.Fatalf("plat did not exit; the terminal shows:\n%q", tm.screen())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		tm.t.Fatal(err)
	}
	now, gerr := unix.IoctlGetTermios(int(tm.tty.Fd()), unix.TCGETS)
	if gerr != nil {
		tm.t.Fatal(gerr)
	}
	if now.Lflag != tm.saved.Lflag || now.Iflag != tm.saved.Iflag || now.Oflag != tm.saved.Oflag {
		tm.t.Errorf("plat left the terminal changed: lflag %#o iflag %#o oflag %#o, was %#o %#o %#o",
			now.Lflag, now.Iflag, now.Oflag, tm.saved.Lflag, tm.saved.Iflag, tm.saved.Oflag)
	}
	return code
}

// interactiveExec is the scenario every transport passes: piped stdin,
// exit codes, and a remote python3 -i on a terminal that is typed into,
// resized, interrupted with ^C and left with ^D.
func interactiveExec(t *testing.T, p *project, env []string, envName, host string) {
	run := func(stdin string, args ...string) result {
		t.Helper()
		args = append([]string{"-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port)}, args...)
		cmd := exec.Command(platBin, args...)
		var out, errb bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
		cmd.Env = append(append(os.Environ(), "CI=true"), env...)
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{code, out.String(), errb.String()}
	}
	// -i forwards stdin; without it the command reads nothing.
	if r := run("hi\nthere\n", "exec", envName, "--host", host, "-i", "--", "cat"); r.code != 0 || r.stdout != "hi\nthere\n" {
		t.Errorf("exec -i cat: %s", r)
	}
	if r := run("hi\n", "exec", envName, "--host", host, "--", "cat"); r.code != 0 || r.stdout != "" {
		t.Errorf("exec cat without -i read stdin: %s", r)
	}
	// The remote exit code is plat's, with no error of plat's own.
	if r := run("", "exec", envName, "--host", host, "--", "sh", "-c", "echo oops >&2; exit 7"); r.code != 7 || r.stderr != "oops\n" {
		t.Errorf("exit 7: %s", r)
	}
	// A command killed by a signal exits as a shell reports it: 128+n.
	if r := run("", "exec", envName, "--host", host, "--", "sh", "-c", "kill -TERM $$"); r.code != 143 {
		t.Errorf("killed by TERM: %s", r)
	}
	// -t without a terminal on plat's side still runs the command.
	if r := run("x\n", "exec", envName, "--host", host, "-t", "--", "cat"); r.code != 0 || r.stdout != "x\n" || !strings.Contains(r.stderr, "not a terminal") {
		t.Errorf("exec -t with piped stdin: %s", r)
	}
	// The console gets the processes' environment, in the current release.
	if r := run("echo \"rel=$PLAT_RELEASE host=$PLAT_HOST dir=$(basename \"$(pwd -P)\")\"\n", "console", envName, "--host", host); r.code != 0 || !strings.Contains(r.stdout, "rel=r1 host="+host+" dir=r1") {
		t.Errorf("console with piped stdin: %s", r)
	}

	tm := p.startTerm(env, "exec", envName, "--host", host, "-t", "--", "python3", "-q", "-i")
	m := tm.expect(0, `>>> `)
	tm.send("import os, sys; print('tty', os.isatty(0), os.environ['PLAT_RELEASE'], os.get_terminal_size())\r")
	m = tm.expect(m, `tty True r1 os\.terminal_size\(columns=80, lines=24\)`)
	m = tm.expect(m, `>>> `)
	// A resize of plat's terminal reaches the remote one.
	if err := pty.Setsize(tm.ptmx, &pty.Winsize{Rows: 33, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	seen := false
	for i := 0; i < 50 && !seen; i++ {
		tm.send("os.system('stty size')\r")
		// os.system's return value, then the prompt: the command has
		// ended (a bare ">>> " can be the prompt readline redraws on the
		// resize, and a ^D sent while stty still runs is lost).
		m = tm.expect(m, `\n\d+\r?\n>>> `)
		seen = strings.Contains(tm.screen(), "33 101")
		if !seen {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if !seen {
		t.Fatalf("stty size in the remote never showed 33 101:\n%q", tm.screen())
	}
	// ^D ends python, and plat with its exit code.
	tm.send("\x04")
	if code := tm.wait(); code != 0 {
		t.Fatalf("python3 -i ended by ^D: plat exit %d\n%q", code, tm.screen())
	}

	// ^C is the remote program's: python stays, interrupted, and its
	// exit code is plat's.
	tm = p.startTerm(env, "exec", envName, "--host", host, "-t", "--", "python3", "-q", "-i")
	m = tm.expect(0, `>>> `)
	tm.send("while True: pass\r\r")
	time.Sleep(300 * time.Millisecond)
	tm.send("\x03")
	m = tm.expect(m, `KeyboardInterrupt`)
	tm.expect(m, `>>> `)
	tm.send("sys = __import__('sys'); sys.exit(3)\r")
	if code := tm.wait(); code != 3 {
		t.Fatalf("sys.exit(3) on a terminal: plat exit %d\n%q", code, tm.screen())
	}

	// A console on a terminal is an interactive shell; an interrupted
	// plat (SIGTERM) still gives the terminal back.
	tm = p.startTerm(env, "console", envName, "--host", host)
	tm.send("echo \"in=$PLAT_ENV\"; [ -t 0 ] && echo on-a-tty\r")
	m = tm.expect(0, `in=`+envName+`\s+on-a-tty`)
	_ = tm.cmd.Process.Signal(syscall.SIGTERM)
	if code := tm.wait(); code == 0 {
		t.Errorf("plat stopped by SIGTERM exited 0")
	}
}

func TestExecInteractiveLocal(t *testing.T) {
	p := newProject(t)
	p.mustPlat("push", "local")
	interactiveExec(t, p, nil, "local", "web1")

	// plat.hcl's console replaces the shell.
	hcl, err := os.ReadFile(p.dir + "/plat.hcl")
	if err != nil {
		t.Fatal(err)
	}
	withConsole := strings.Replace(string(hcl), `buildpack = "python"`, "buildpack = \"python\"\n  console = [\"python3\", \"-q\"]", 1)
	if withConsole == string(hcl) {
		t.Fatal(`examples/notes/plat.hcl has no buildpack = "python"; update this test`)
	}
	p.write("plat.hcl", withConsole)
	cmd := exec.Command(platBin, "-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port), "console", "local", "--host", "web2")
	cmd.Stdin = strings.NewReader("import os; print(6*7, os.environ['PLAT_HOST'])\n")
	if out, err := cmd.Output(); err != nil || string(out) != "42 web2\n" {
		t.Errorf("console = [python3]: %v: %q", err, out)
	}
}

func TestExecInteractiveSSH(t *testing.T) {
	fleet := sshtest.New(t, 1)
	p := newProject(t)
	p.sshEnv(fleet, "")
	p.mustPlat("push", "fleet")
	t.Cleanup(func() { p.plat("down", "fleet") })
	interactiveExec(t, p, nil, "fleet", fleet.Hosts[0].Name)
	lifecycleOn(t, p, "fleet", fleet.Hosts[0].Name)
}

// lifecycleOn checks ps, stop, push-starts-what-is-down and restart on
// one host of a transport other than local.
func lifecycleOn(t *testing.T, p *project, envName, host string) {
	t.Helper()
	psLine := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(host) + `\s+r1\s+web\s+(\d+)\s+running\s`)
	m := psLine.FindStringSubmatch(p.mustPlat("ps", envName, "--host", host).stdout)
	if m == nil {
		t.Fatalf("ps %s: no running web on %s", envName, host)
	}
	p.mustPlat("stop", envName, "--host", host)
	if r := p.plat("ps", envName, "--host", host); r.code != 1 || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(host)+`\s+r1\s+web\s+-\s+stopped\s+-$`).MatchString(r.stdout) {
		t.Errorf("ps after stop: %s", r)
	}
	if r := p.mustPlat("push", envName); !strings.Contains(r.stdout, "["+host+"] nothing new to push, but processes of r1 are down (web stopped): starting them") {
		t.Errorf("push after stop:\n%s", r.stdout)
	}
	before := psLine.FindStringSubmatch(p.mustPlat("ps", envName, "--host", host).stdout)
	if r := p.mustPlat("restart", envName, "--host", host); !strings.Contains(r.stdout, "["+host+"] finished: health") {
		t.Errorf("restart:\n%s", r.stdout)
	}
	after := psLine.FindStringSubmatch(p.mustPlat("ps", envName, "--host", host).stdout)
	if before == nil || after == nil || before[1] == after[1] {
		t.Errorf("restart on %s: web pid %v, then %v", host, before, after)
	}
}

func TestExecInteractiveDocker(t *testing.T) {
	l := newLaptop(t)
	l.mustPlat("up", "laptop")
	l.mustPlat("push", "laptop")
	interactiveExec(t, l.project, nil, "laptop", "web1")
	lifecycleOn(t, l.project, "laptop", "web1")
}

// TestExecThroughPlugin: plugin protocol v1 forwards stdin, but has no
// terminal; plat says so instead of running the command without one.
func TestExecThroughPlugin(t *testing.T) {
	p := newProject(t)
	p.pluginEnv("")
	t.Cleanup(func() { p.plat("down", "dirs", "--destroy") })
	p.mustPlat("up", "dirs")
	p.mustPlat("push", "dirs")
	cmd := exec.Command(platBin, "-C", p.dir, "exec", "dirs", "--host", "web1", "-i", "--", "cat")
	cmd.Stdin = strings.NewReader("through the plugin\n")
	if out, err := cmd.Output(); err != nil || string(out) != "through the plugin\n" {
		t.Errorf("exec -i through the plugin: %v: %q", err, out)
	}
	tm := p.startTerm(nil, "exec", "dirs", "--host", "web1", "-t", "--", "sh")
	tm.expect(0, `plugin dirs: target web1: run: this transport cannot allocate a terminal: plugin protocol v1 carries stdin and output but no terminal; run without -t`)
	if code := tm.wait(); code != 2 {
		t.Errorf("exec -t through the plugin: exit %d, want 2\n%q", code, tm.screen())
	}
}
