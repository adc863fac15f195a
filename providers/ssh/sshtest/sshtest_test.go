package sshtest_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// sshRun runs the OpenSSH client against the fleet's generated config.
func sshRun(t *testing.T, f *sshtest.Fleet, host string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command("ssh", append([]string{"-F", f.SSHConfig, host}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestFleetServesOpenSSHClients(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	f := sshtest.New(t, 2)
	if len(f.Hosts) != 2 || f.Hosts[0].Addr == f.Hosts[1].Addr {
		t.Fatalf("hosts = %+v", f.Hosts)
	}
	for _, h := range f.Hosts {
		out, err := sshRun(t, f, h.Name, "echo", "$HOME")
		if err != nil || out != h.Home+"\n" {
			t.Fatalf("ssh %s: HOME = %q, %v; want the host's own %s", h.Name, out, err, h.Home)
		}
		out, err = sshRun(t, f, h.Name, "echo", "$SSH_CONNECTION")
		if err != nil {
			t.Fatalf("ssh %s: %v: %s", h.Name, err, out)
		}
		// SSH_CONNECTION ends with the server address and port.
		if want := h.Addr + " "; !strings.Contains(out, want) {
			t.Errorf("ssh %s: SSH_CONNECTION = %q, want server %s", h.Name, out, h.Addr)
		}
		if st, err := os.Stat(h.Root); err != nil || !st.IsDir() {
			t.Errorf("root of %s: %v", h.Name, err)
		}
	}
	st, err := os.Stat(f.KeyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("client key mode: %v %v", st, err)
	}
}

func TestStopStartRotate(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, f, h.Name, "true"); err == nil {
		t.Fatalf("ssh to a stopped host succeeded: %s", out)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, f, h.Name, "true"); err != nil {
		t.Fatalf("ssh after restart: %v: %s", err, out)
	}
	if err := h.RotateHostKey(); err != nil {
		t.Fatal(err)
	}
	out, err := sshRun(t, f, h.Name, "true")
	if err == nil || !strings.Contains(out, "HOST IDENTIFICATION HAS CHANGED") {
		t.Fatalf("ssh after key rotation: err=%v out=%s", err, out)
	}
}

func TestFreezeThaw(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	if err := h.Freeze(); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, f, h.Name, "-o", "ConnectTimeout=1", "true"); err == nil {
		t.Fatalf("ssh to a frozen host succeeded: %s", out)
	}
	if err := h.Thaw(); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, f, h.Name, "true"); err != nil {
		t.Fatalf("ssh after thaw: %v: %s", err, out)
	}
}

// procAlive reports whether a live (not zombie) process runs argv.
func procAlive(t *testing.T, cmdline string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		data, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || strings.ReplaceAll(strings.TrimRight(string(data), "\x00"), "\x00", " ") != cmdline {
			continue
		}
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && !strings.HasPrefix(string(stat[i+1:]), " Z") {
			return true
		}
	}
	return false
}

func TestStopKillsRunningCommands(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	cmd := exec.Command("ssh", "-F", f.SSHConfig, h.Name, "exec sleep 3001")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	for i := 0; !procAlive(t, "sleep 3001"); i++ {
		if i > 500 {
			t.Fatal("remote command did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := 0; procAlive(t, "sleep 3001"); i++ {
		if i > 200 {
			t.Fatal("the host's command survived Stop")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
