package remote_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/remote"
	"github.com/plat-sh/plat/providers/ssh"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// adminNode is one real sshd host and a connection to it.
func adminNode(t *testing.T) (*sshtest.Host, *ssh.Conn) {
	t.Helper()
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	conn, err := ssh.Dial(t.Context(), ssh.HostSpec{Alias: h.Name, ConfigFile: f.SSHConfig, AgentSocket: "none"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return h, conn
}

// fakePlat writes a shell script that answers `version --json` as plat
// would (the real binary is built by cmd/plat's end-to-end tests, which
// run this mechanism with it) and otherwise runs body.
func fakePlat(t *testing.T, b remote.Build, body string) *remote.Binary {
	t.Helper()
	script := "#!/bin/sh\nif [ \"$1\" = version ]; then\n  echo '{\"schema_version\":1,\"version\":\"" + b.Version + "\",\"commit\":\"" + b.Commit + "\",\"modified\":false,\"os\":\"" + b.OS + "\",\"arch\":\"" + b.Arch + "\"}'\n  exit 0\nfi\n" + body + "\n"
	path := filepath.Join(t.TempDir(), "plat")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(script))
	return &remote.Binary{Build: b, Path: path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(script))}
}

func build(version string) remote.Build {
	return remote.Build{Version: version, Commit: "c0ffee", OS: runtime.GOOS, Arch: runtime.GOARCH}
}

func TestEnsureUploadsOnceThenReuses(t *testing.T) {
	h, conn := adminNode(t)
	bin := fakePlat(t, build("dev"), "echo ran")
	var said []string
	announce := func(m string) { said = append(said, m) }

	path, uploaded, err := remote.Ensure(t.Context(), conn, bin, announce)
	if err != nil || !uploaded {
		t.Fatalf("first Ensure: uploaded=%v err=%v", uploaded, err)
	}
	if path != bin.Name() || len(said) != 1 || !strings.Contains(said[0], "uploading plat dev") {
		t.Errorf("path %q, announced %q", path, said)
	}
	file := filepath.Join(h.Home, path)
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("installed binary: %v %v", st, err)
	}
	if left, _ := filepath.Glob(filepath.Join(h.Home, remote.BinDir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	_, uploaded, err = remote.Ensure(t.Context(), conn, bin, announce)
	if err != nil || uploaded || len(said) != 1 {
		t.Fatalf("second Ensure: uploaded=%v err=%v announced %q", uploaded, err, said)
	}
	st2, _ := os.Stat(file)
	if !st2.ModTime().Equal(st.ModTime()) {
		t.Error("the binary was rewritten although it was the same build")
	}

	// A release build at the same path that reports another commit is
	// replaced.
	rel := fakePlat(t, build("v1.2.3"), "echo new")
	stale := fakePlat(t, remote.Build{Version: "v1.2.3", Commit: "other", OS: runtime.GOOS, Arch: runtime.GOARCH}, "echo old")
	if _, up, err := remote.Ensure(t.Context(), conn, stale, nil); err != nil || !up {
		t.Fatal(up, err)
	}
	if _, up, err := remote.Ensure(t.Context(), conn, rel, announce); err != nil || !up || !strings.Contains(said[len(said)-1], "there is v1.2.3 (other)") {
		t.Fatalf("a stale build at the path: uploaded=%v err=%v said %q", up, err, said)
	}
}

func TestEnsureRefusesAnotherPlatform(t *testing.T) {
	_, conn := adminNode(t)
	bin := fakePlat(t, remote.Build{Version: "v1.0.0", OS: "plan9", Arch: "mips"}, "")
	_, _, err := remote.Ensure(t.Context(), conn, bin, nil)
	if !errors.Is(err, remote.ErrPlatform) || !strings.Contains(err.Error(), "plan9/mips") || !strings.Contains(err.Error(), "install plat v1.0.0") {
		t.Fatalf("err = %v", err)
	}
}

func TestEnsureRefusesDamagedUpload(t *testing.T) {
	h, conn := adminNode(t)
	bin := fakePlat(t, build("dev"), "")
	bin.SHA256 = strings.Repeat("0", 64) // not what arrives
	_, _, err := remote.Ensure(t.Context(), conn, bin, nil)
	if err == nil || !strings.Contains(err.Error(), "arrived damaged") {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(h.Home, remote.BinDir)); len(entries) != 0 {
		t.Errorf("a damaged upload left %v", entries)
	}
}

// install puts bin on the node and returns its path.
func install(t *testing.T, conn platform.Transport, bin *remote.Binary) string {
	t.Helper()
	path, _, err := remote.Ensure(t.Context(), conn, bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunPassesOutputAndExitCode(t *testing.T) {
	_, conn := adminNode(t)
	path := install(t, conn, fakePlat(t, build("dev"), `printf 'out %s\n' "$*"; echo err >&2; exit 4`))
	var out, errb bytes.Buffer
	code, err := remote.Run(t.Context(), conn, remote.RunOptions{Bin: path, Args: []string{"push", "prod", "it's"}, Stdout: &out, Stderr: &errb})
	if err != nil || code != 4 {
		t.Fatalf("code %d err %v", code, err)
	}
	if out.String() != "out push prod it's\n" || errb.String() != "err\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
}

// syncBuffer is a bytes.Buffer written by the session and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", want, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunCancelClosesStdinAndWaits(t *testing.T) {
	_, conn := adminNode(t)
	// The remote side ends its input, cleans up for a moment, then exits:
	// Run must wait for that instead of killing it.
	path := install(t, conn, fakePlat(t, build("dev"), `echo started; cat >/dev/null; sleep 0.3; echo cleaned up; exit 1`))
	var out syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	called := 0
	res := make(chan error, 1)
	var code int
	go func() {
		var err error
		code, err = remote.Run(ctx, conn, remote.RunOptions{Bin: path, Stdout: &out, Stderr: &out, Cancelling: func() { called++ }})
		res <- err
	}()
	waitFor(t, &out, "started")
	cancel()
	if err := <-res; err != nil || code != 1 {
		t.Fatalf("code %d err %v", code, err)
	}
	if !strings.Contains(out.String(), "cleaned up") || called != 1 {
		t.Errorf("output %q, Cancelling called %d times", out.String(), called)
	}
}

func TestRunCancelOnTerminalTypesInterrupt(t *testing.T) {
	_, conn := adminNode(t)
	path := install(t, conn, fakePlat(t, build("dev"), `trap 'echo interrupted; exit 130' INT
echo started
while :; do sleep 0.1; done`))
	var out syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	res := make(chan error, 1)
	var code int
	go func() {
		var err error
		code, err = remote.Run(ctx, conn, remote.RunOptions{Bin: path, Stdout: &out, TTY: &platform.TTY{Rows: 24, Cols: 80}})
		res <- err
	}()
	waitFor(t, &out, "started")
	cancel()
	if err := <-res; err != nil || code != 130 {
		t.Fatalf("code %d err %v; output %q", code, err, out.String())
	}
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("output %q", out.String())
	}
}

func TestRunCutsAfterGrace(t *testing.T) {
	_, conn := adminNode(t)
	path := install(t, conn, fakePlat(t, build("dev"), `trap '' INT HUP; echo started; exec sleep 60`))
	var out syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	res := make(chan error, 1)
	go func() {
		_, err := remote.Run(ctx, conn, remote.RunOptions{Bin: path, Stdout: &out, Grace: 300 * time.Millisecond})
		res <- err
	}()
	waitFor(t, &out, "started")
	start := time.Now()
	cancel()
	err := <-res
	if err == nil || !strings.Contains(err.Error(), "did not stop within 300ms") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("cut took %s", d)
	}
}

// gitRepo makes a bare remote with two commits and returns its URL and
// the commits' SHAs.
func gitRepo(t *testing.T) (url string, first, second string) {
	t.Helper()
	dir := t.TempDir()
	work, bare := filepath.Join(dir, "work"), filepath.Join(dir, "app.git")
	run := func(d string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = d
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.org", "GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.org")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	os.MkdirAll(work, 0o755)
	run(work, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(work, "plat.hcl"), []byte("one\n"), 0o644)
	run(work, "add", "-A")
	run(work, "commit", "-q", "-m", "one")
	first = run(work, "rev-parse", "HEAD")
	os.WriteFile(filepath.Join(work, "plat.hcl"), []byte("two\n"), 0o644)
	run(work, "commit", "-q", "-am", "two")
	second = run(work, "rev-parse", "HEAD")
	run(dir, "clone", "-q", "--bare", work, bare)
	return "file://" + bare, first, second
}

func TestPrepareFetchesAndMovesTheCheckout(t *testing.T) {
	url, first, second := gitRepo(t)
	root := filepath.Join(t.TempDir(), "apps", "app")
	c := remote.Checkout{Root: root, Remote: url, Commit: second, Branch: "main"}
	release, err := remote.Prepare(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if b, _ := os.ReadFile(filepath.Join(c.Dir(), "plat.hcl")); string(b) != "two\n" {
		t.Fatalf("checkout has %q", b)
	}
	if out, _ := exec.Command("git", "-C", c.Dir(), "config", "remote.origin.url").Output(); strings.TrimSpace(string(out)) != url {
		t.Errorf("origin = %q, want %s (relative submodule URLs resolve against it)", out, url)
	}
	// The admin node's own files in the tree survive a move.
	os.MkdirAll(filepath.Join(c.Dir(), ".plat", "store"), 0o700)
	os.WriteFile(filepath.Join(c.Dir(), ".plat", "store", "keep"), []byte("x"), 0o600)

	c.Commit, c.Branch = first, ""
	release, err = remote.Prepare(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(c.Dir(), "plat.hcl")); string(b) != "one\n" {
		t.Errorf("after moving to the first commit: %q", b)
	}
	if _, err := os.Stat(filepath.Join(c.Dir(), ".plat", "store", "keep")); err != nil {
		t.Errorf("the state dir did not survive: %v", err)
	}

	// While a command holds the checkout, another at the same commit
	// shares it; one for another commit waits.
	same, err := remote.Prepare(t.Context(), c, func() { t.Error("the same commit waited") })
	if err != nil {
		t.Fatal(err)
	}
	same()
	waited := make(chan struct{})
	moved := make(chan error, 1)
	go func() {
		c2 := c
		c2.Commit = second
		r, err := remote.Prepare(t.Context(), c2, func() { close(waited) })
		if r != nil {
			r()
		}
		moved <- err
	}()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("moving the checkout did not wait for the running command")
	}
	if b, _ := os.ReadFile(filepath.Join(c.Dir(), "plat.hcl")); string(b) != "one\n" {
		t.Errorf("the checkout moved under a running command: %q", b)
	}
	release()
	if err := <-moved; err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(c.Dir(), "plat.hcl")); string(b) != "two\n" {
		t.Errorf("after the wait: %q", b)
	}
}

func TestPrepareUnknownCommit(t *testing.T) {
	url, _, _ := gitRepo(t)
	c := remote.Checkout{Root: filepath.Join(t.TempDir(), "app"), Remote: url, Commit: strings.Repeat("1", 40)}
	_, err := remote.Prepare(t.Context(), c, nil)
	if err == nil || !strings.Contains(err.Error(), "push it there first") {
		t.Fatalf("err = %v", err)
	}
	for _, bad := range []remote.Checkout{
		{Root: c.Root, Remote: url, Commit: "HEAD"},
		{Root: c.Root, Remote: url, Commit: strings.Repeat("1", 40), Branch: "-x"},
		{Root: c.Root, Remote: "https://u:tok@example.org/a.git", Commit: strings.Repeat("1", 40)},
	} {
		if _, err := remote.Prepare(t.Context(), bad, nil); err == nil {
			t.Errorf("Prepare(%+v) succeeded", bad)
		}
	}
}

// TestEnsurePrunesOldBinaries: an upload leaves the newest KeepBinaries
// plat binaries in ~/.plat/bin, the one just uploaded among them, and
// any older one a process is running; nothing else of the directory is
// touched.
func TestEnsurePrunesOldBinaries(t *testing.T) {
	h, conn := adminNode(t)
	dir := filepath.Join(h.Home, remote.BinDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// Four older dev builds, a minute apart, and the oldest of all a
	// real executable that runs (a copy of sleep: /proc/PID/exe names the
	// binary a process executes, which for a script is its interpreter).
	for i, name := range []string{"plat-dev-111111111111", "plat-dev-222222222222", "plat-dev-333333333333", "plat-dev-444444444444"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		at := now.Add(time.Duration(i-10) * time.Minute)
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	busy := filepath.Join(dir, "plat-dev-000000000000")
	if err := os.WriteFile(busy, b, 0o755); err != nil {
		t.Fatal(err)
	}
	old := now.Add(-time.Hour)
	if err := os.Chtimes(busy, old, old); err != nil {
		t.Fatal(err)
	}
	running := exec.Command(busy, "60")
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { running.Process.Kill(); running.Wait() })
	// Neither an upload under way (a dot file) nor another file is plat's
	// to remove.
	for _, name := range []string{".plat-dev-555555555555.tmp.42", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	bin := fakePlat(t, build("dev"), "")
	var said []string
	if _, up, err := remote.Ensure(t.Context(), conn, bin, func(m string) { said = append(said, m) }); err != nil || !up {
		t.Fatalf("Ensure: uploaded=%v err=%v", up, err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{".plat-dev-555555555555.tmp.42", "notes.txt", "plat-dev-000000000000", "plat-dev-333333333333", "plat-dev-444444444444", filepath.Base(bin.Name())}
	sort.Strings(want)
	if strings.Join(left, " ") != strings.Join(want, " ") {
		t.Errorf("left in ~/%s:\n%v\nwant\n%v", remote.BinDir, left, want)
	}
	if len(said) != 2 || !strings.Contains(said[1], "removed 2 older plat binaries") || !strings.Contains(said[1], "plat-dev-111111111111, plat-dev-222222222222") {
		t.Errorf("announced %q", said)
	}
	// The running binary was not disturbed.
	if running.ProcessState != nil {
		t.Errorf("the running plat exited: %v", running.ProcessState)
	}

	// A reused binary prunes nothing.
	said = nil
	if _, up, err := remote.Ensure(t.Context(), conn, bin, func(m string) { said = append(said, m) }); err != nil || up || len(said) != 0 {
		t.Errorf("second Ensure: uploaded=%v err=%v said %q", up, err, said)
	}
}
