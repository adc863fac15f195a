package hostcmd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
)

// runHere runs a hostcmd command with this machine's sh, as the local
// provider does, and returns stdout, stderr and the exit code.
func runHere(t *testing.T, cmd *platform.Command) (string, string, int) {
	t.Helper()
	c := exec.Command(cmd.Args[0], cmd.Args[1:]...)
	c.Env = os.Environ()
	for k, v := range cmd.Env {
		c.Env = append(c.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// listener is a python3 program that listens on PORT with SO_REUSEPORT
// (as an app sharing its port does) until killed.
const listener = `python3 -c 'import os, socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen()
time.sleep(600)'`

func TestOwnsProvesTheReleasesProcessHoldsThePort(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this machine")
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "releases", "r1"), 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)

	if _, _, code := runHere(t, Owns(root, "web", "", port, time.Second)); code != ExitListenNoProcess {
		t.Fatalf("no web pid file: exit %d, want %d", code, ExitListenNoProcess)
	}

	start := Start(root, "r1", "", map[string]string{"web": listener})
	start.Env = map[string]string{"PORT": fmt.Sprint(port)}
	if _, stderr, code := runHere(t, start); code != 0 {
		t.Fatalf("start: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { runHere(t, Stop(root, 100*time.Millisecond, "")) })
	if out, stderr, code := runHere(t, Owns(root, "web", "", port, 10*time.Second)); code != 0 || !strings.HasPrefix(out, "listening web ") {
		t.Fatalf("the release's own listener: exit %d, %q %s", code, out, stderr)
	}

	// Another process on the same port (another app, SO_REUSEPORT too):
	// the health check could be answered by it, so the gate refuses.
	other := exec.Command("sh", "-c", listener)
	other.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	other.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-other.Process.Pid, syscall.SIGKILL); _ = other.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, stderr, code := runHere(t, Owns(root, "web", "", port, 0))
		if code == ExitListenShared {
			if !strings.Contains(stderr, "is also held by") || !strings.Contains(stderr, "python3") {
				t.Errorf("shared port message names no other process: %s", stderr)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a second listener on the port: exit %d, want %d: %s", code, ExitListenShared, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-other.Process.Pid, syscall.SIGKILL)
	_ = other.Wait()

	// The web process dies: noticed at once, not after the whole wait.
	if _, stderr, code := runHere(t, Stop(root, 100*time.Millisecond, "")); code != 0 {
		t.Fatalf("stop: %s", stderr)
	}
	if err := os.WriteFile(filepath.Join(root, ".plat", "pids", "web.pid"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, stderr, code := runHere(t, Owns(root, "web", "", port, 60*time.Second))
	if code != ExitListenDied || !strings.Contains(stderr, "exited") {
		t.Fatalf("dead web process: exit %d, want %d: %s", code, ExitListenDied, stderr)
	}
	if waited := time.Since(began); waited > 20*time.Second {
		t.Errorf("a dead process took %v to notice (the wait was 60s)", waited)
	}
}

func TestLockRecordsTheOwnerApp(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	if _, stderr, code := runHere(t, CheckOwner(root, "notes")); code != 0 {
		t.Fatalf("a deploy_to nobody claimed: exit %d %s", code, stderr)
	}
	if out, stderr, code := runHere(t, Lock(root, "notes", "tok1", time.Minute, "owner=a")); code != 0 || !strings.HasPrefix(out, "acquired") {
		t.Fatalf("first lock: exit %d %q %s", code, out, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(root, ".plat", "app")); string(b) != "notes\n" {
		t.Fatalf(".plat/app = %q", b)
	}
	runHere(t, Unlock(root, "tok1"))
	out, _, code := runHere(t, Lock(root, "blog", "tok2", time.Minute, "owner=b"))
	if code != 4 || ParseOwner(out) != "notes" {
		t.Fatalf("another app's lock: exit %d, owner %q (%q)", code, ParseOwner(out), out)
	}
	if _, err := os.Stat(filepath.Join(root, ".plat", "lock")); err == nil {
		t.Error("a refused app took the lock")
	}
	if out, _, code := runHere(t, CheckOwner(root, "blog")); code != 4 || ParseOwner(out) != "notes" {
		t.Errorf("CheckOwner for another app: exit %d %q", code, out)
	}
	if _, _, code := runHere(t, CheckOwner(root, "notes")); code != 0 {
		t.Errorf("CheckOwner for the owner: exit %d", code)
	}
}

func TestStartUsesBashWhereTheHostHasIt(t *testing.T) {
	root := t.TempDir()
	rel := filepath.Join(root, "releases", "r1")
	if err := os.MkdirAll(filepath.Join(rel, ".profile.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rel, ".profile.d", "a.sh"), []byte("export FROM_PROFILE=yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor := func(path string) string {
		t.Helper()
		for i := 0; i < 100; i++ {
			if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
				return string(b)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s was never written", path)
		return ""
	}
	out, stderr, code := runHere(t, Start(root, "r1", "", map[string]string{"web": `echo "bash=${BASH_VERSION:-none} profile=$FROM_PROFILE" > with-bash`}))
	if code != 0 || strings.Contains(out, NoBash) {
		t.Fatalf("start with bash on PATH: exit %d %q %s", code, out, stderr)
	}
	if got := waitFor(filepath.Join(rel, "with-bash")); strings.Contains(got, "bash=none") || !strings.Contains(got, "profile=yes") {
		t.Errorf("the process did not run with bash after the profile: %q", got)
	}

	// A host without bash: sh, and the start says so.
	bin := t.TempDir()
	for _, tool := range []string{"sh", "setsid", "mkdir", "cat"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := Start(root, "r1", "", map[string]string{"web": `echo "bash=${BASH_VERSION:-none} profile=$FROM_PROFILE" > without-bash`})
	cmd.Env = map[string]string{"PATH": bin}
	out, stderr, code = runHere(t, cmd)
	if code != 0 || !strings.HasPrefix(out, NoBash+"\n") {
		t.Fatalf("start without bash: exit %d %q %s", code, out, stderr)
	}
	if got := waitFor(filepath.Join(rel, "without-bash")); !strings.Contains(got, "bash=none profile=yes") {
		t.Errorf("without bash the process ran as %q", got)
	}
}
