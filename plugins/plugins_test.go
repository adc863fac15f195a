package plugins_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
	"github.com/plat-sh/plat/plugins"
	"github.com/plat-sh/plat/plugins/example/plat-provider-dirs/dirs"
)

func TestConformanceThroughPlugin(t *testing.T) {
	var out bytes.Buffer
	cfg := platform.ProviderConfig{Values: map[string]any{"root": t.TempDir()}}
	err := plugins.Conformance(testCtx(t), plugin("dirs"), cfg, nil, &out)
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"plugin dirs v0.1.0, protocol v1",
		"--- PASS: up is idempotent",
		"--- PASS: transport/large stdin streams intact",
		"--- PASS: transport/cancel stops the command",
		"--- PASS: targets after destroy name the missing host",
		"0 failed, 0 skipped",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestConformanceReportsFailures(t *testing.T) {
	var out bytes.Buffer
	// No root: the schema check and New fail, everything after is skipped.
	err := plugins.Conformance(testCtx(t), plugin("dirs"), platform.ProviderConfig{}, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "plugin dirs failed 2 of") {
		t.Fatalf("err = %v, want 2 failed checks\n%s", err, out.String())
	}
	for _, want := range []string{
		"--- FAIL: schema",
		`required attribute "root" is missing`,
		"--- FAIL: new",
		"root = \"\" must be an absolute path",
		"--- SKIP: targets",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestTransportSuiteThroughPlugin(t *testing.T) {
	c := open(t, "dirs")
	p, _ := upTargets(t, c, "web1")
	env := testEnv("web1")
	platformtest.TestTransport(t, platformtest.TransportHarness{
		New: func(t *testing.T) platform.Transport {
			resp, err := p.Targets(t.Context(), &platform.TargetsRequest{Env: env})
			if err != nil {
				t.Fatal(err)
			}
			return resp.Targets[0].Transport
		},
		Scratch: func(t *testing.T) string { return t.TempDir() },
	})
}

func TestSchemaAbilitiesAndTargets(t *testing.T) {
	c := open(t, "dirs")
	if c.Version() != "v0.1.0" || c.Protocol() != 1 || c.Name() != "dirs" {
		t.Errorf("name %q version %q protocol %d", c.Name(), c.Version(), c.Protocol())
	}
	s := c.Factory().Schema()
	if len(s.Attributes) != 4 || s.Attributes[0].Name != "root" || !s.Attributes[0].Required ||
		s.Attributes[2].Type != platform.TypeStringList {
		t.Errorf("schema = %+v", s)
	}
	root := t.TempDir()
	p, err := c.Factory().New(platform.ProviderConfig{Type: "dirs", Values: map[string]any{
		"root": root, "base_port": 9100, "ssh_options": []any{"-p", "2222"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(platform.Provisioner); !ok {
		t.Error("provider is not a Provisioner through the plugin")
	}
	if _, ok := p.(platform.MachineStatuser); !ok {
		t.Error("provider is not a MachineStatuser through the plugin")
	}
	env := testEnv("a", "b")
	env.Clusters[0].Hosts[1].DeployTo = "/srv/b"
	var lines []string
	if _, err := p.(platform.Provisioner).Up(testCtx(t), &platform.UpRequest{Env: env, Progress: func(h, l string) {
		lines = append(lines, h+": "+l)
	}}); err != nil {
		t.Fatal(err)
	}
	if want := "a: created " + filepath.Join(root, "a"); len(lines) != 2 || lines[0] != want {
		t.Errorf("progress = %q, want first %q", lines, want)
	}
	resp, err := p.Targets(testCtx(t), &platform.TargetsRequest{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	a, b := resp.Targets[0], resp.Targets[1]
	if a.Name != "a" || a.Port != 9100 || a.DeployTo != filepath.Join(root, "a", "app") || a.Roles[0] != "web" {
		t.Errorf("target a = %+v", a)
	}
	if b.Port != 9101 || b.DeployTo != "/srv/b" {
		t.Errorf("target b = %+v", b)
	}
	if _, ok := a.Transport.(platform.Dialer); !ok {
		t.Error("local dirs transport is not a Dialer through the plugin")
	}
	var out bytes.Buffer
	if err := a.Transport.Run(testCtx(t), &platform.Command{Args: []string{"pwd"}, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != filepath.Join(root, "a")+"\n" {
		t.Errorf("default dir = %q", out.String())
	}
	for _, tg := range resp.Targets {
		if err := tg.Transport.Close(); err != nil {
			t.Error(err)
		}
	}
	// A closed transport is gone on the plugin side too.
	err = a.Transport.Run(testCtx(t), &platform.Command{Args: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "no open transport") {
		t.Errorf("run after close: %v", err)
	}
}

func TestCancelKillsCommandInPlugin(t *testing.T) {
	c := open(t, "dirs")
	_, ts := upTargets(t, c, "web1")
	pidfile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		done <- ts[0].Transport.Run(ctx, &platform.Command{Args: []string{"sh", "-c", `echo $$ > "$1"; exec sleep 300`, "sh", pidfile}})
	}()
	pid := readPid(t, pidfile)
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want it to wrap context.Canceled", err)
	}
	waitGone(t, "cancelled command", pid)
}

func TestCrashMidRunNamesPluginAndTarget(t *testing.T) {
	c := open(t, "crashy")
	_, ts := upTargets(t, c, "web1")
	pluginPid := c.Pid()
	pidfile := filepath.Join(t.TempDir(), "sleep.pid")
	err := ts[0].Transport.Run(testCtx(t), &platform.Command{Args: []string{"plat-test-crash", pidfile}})
	if err == nil {
		t.Fatal("run in a crashing plugin succeeded")
	}
	if !errors.Is(err, plugins.ErrPluginExited) {
		t.Errorf("err = %v, want ErrPluginExited", err)
	}
	for _, want := range []string{"plugin crashy", "target web1", "run", "exit status 2", "panic: crashy: crashing on purpose"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	waitGone(t, "crashed plugin", pluginPid)
	waitGone(t, "the crashed plugin's child", readPid(t, pidfile))
	// Later calls fail fast with the same diagnosis.
	err = ts[0].Transport.Run(testCtx(t), &platform.Command{Args: []string{"true"}})
	if !errors.Is(err, plugins.ErrPluginExited) {
		t.Errorf("second run: %v, want ErrPluginExited", err)
	}
}

func TestCloseKillsPlugin(t *testing.T) {
	c, err := plugins.Open(testCtx(t), plugin("dirs"), plugins.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	if gone(pid) {
		t.Fatal("plugin is not running after Open")
	}
	c.Close()
	c.Close()
	waitGone(t, "closed plugin", pid)
	if !c.Exited() {
		t.Error("Exited is false after Close")
	}
}

func TestKilledHostLeavesNoPlugin(t *testing.T) {
	host := exec.Command(os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), "PLAT_PLUGINS_TEST_HOST="+plugin("dirs"))
	stdout, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Process.Kill(); host.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read plugin pid from host: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("host said %q", line)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if gone(pid) {
		t.Fatal("plugin is not running")
	}
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	host.Wait()
	waitGone(t, "plugin of a killed host", pid)
}

func TestStdoutBeforeHandshake(t *testing.T) {
	_, err := plugins.Open(testCtx(t), plugin("noisy"), plugins.Options{})
	if err == nil {
		t.Fatal("open succeeded")
	}
	for _, want := range []string{
		"plugin noisy (" + plugin("noisy") + ")",
		`printed "hello from a noisy plugin" on stdout before the plugin handshake`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestNewerProtocol(t *testing.T) {
	_, err := plugins.Open(testCtx(t), plugin("future"), plugins.Options{})
	var pe *plugins.ProtocolError
	if !errors.As(err, &pe) || pe.Version != 2 {
		t.Fatalf("err = %v, want a *ProtocolError for v2", err)
	}
	if want := "plugin future (" + plugin("future") + ") speaks protocol v2, this plat supports v1"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}

func TestNotAPlugin(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "plat-provider-script")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho 'this is not a plugin' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := plugins.Open(testCtx(t), p, plugins.Options{})
	if err == nil || !strings.Contains(err.Error(), "exited before the plugin handshake") ||
		!strings.Contains(err.Error(), "this is not a plugin") {
		t.Fatalf("err = %v", err)
	}
}

func TestDialThroughPlugin(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		io.Copy(conn, io.LimitReader(conn, 5))
	}()
	c := open(t, "dirs")
	_, ts := upTargets(t, c, "web1")
	conn, err := ts[0].Transport.(platform.Dialer).DialContext(testCtx(t), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != "hello" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	// A refused dial is an error naming plugin and target.
	addr := ln.Addr().String()
	ln.Close()
	_, err = ts[0].Transport.(platform.Dialer).DialContext(testCtx(t), "tcp", addr)
	if err == nil || !strings.Contains(err.Error(), "plugin dirs: target web1: dial") {
		t.Fatalf("dial closed port: %v", err)
	}
}

func TestProviderSuiteInProcessBoundary(t *testing.T) {
	c, err := plugins.InProcess(testCtx(t), "dirs", dirs.Factory{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Version() != "v0.1.0" || c.Protocol() != 1 {
		t.Errorf("version %q protocol %d", c.Version(), c.Protocol())
	}
	platformtest.TestProvider(t, platformtest.ProviderHarness{
		Factory: c.Factory(),
		Config:  platform.ProviderConfig{Type: "dirs", Values: map[string]any{"root": t.TempDir()}},
		Env:     testEnv("web1", "web2"),
	})
}
