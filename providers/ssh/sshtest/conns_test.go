package sshtest_test

import (
	"os/exec"
	"testing"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

func TestStallAndDropConnections(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	// A stalled session hangs its client, while the host still serves a
	// new connection.
	hung := exec.Command("ssh", "-F", f.SSHConfig, "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2", h.Name, "echo up; exec sleep 600")
	out, err := hung.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hung.Start(); err != nil {
		t.Fatal(err)
	}
	defer hung.Process.Kill()
	buf := make([]byte, 3)
	if _, err := out.Read(buf); err != nil || string(buf) != "up\n" {
		t.Fatalf("session did not start: %q %v", buf, err)
	}
	if n, err := h.StallConnections(); err != nil || n < 1 {
		t.Fatalf("stall: %d %v", n, err)
	}
	if out, err := sshRun(t, f, h.Name, "echo", "fresh"); err != nil || out != "fresh\n" {
		t.Fatalf("new connection to a host with a stalled session: %q %v", out, err)
	}
	// ssh's own keepalives give up on the stalled session.
	if err := hung.Wait(); err == nil {
		t.Fatal("the stalled session's client exited 0")
	}
	if err := h.Thaw(); err != nil {
		t.Fatal(err)
	}

	long := exec.Command("ssh", "-F", f.SSHConfig, h.Name, "echo up; exec sleep 600")
	out, _ = long.StdoutPipe()
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	defer long.Process.Kill()
	if _, err := out.Read(buf); err != nil {
		t.Fatal(err)
	}
	if n, err := h.DropConnections(); err != nil || n < 1 {
		t.Fatalf("drop: %d %v", n, err)
	}
	if err := long.Wait(); err == nil {
		t.Fatal("a dropped session's client exited 0")
	}
	if out, err := sshRun(t, f, h.Name, "echo", "again"); err != nil || out != "again\n" {
		t.Fatalf("new connection after a drop: %q %v", out, err)
	}
}
