package hostcmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSystemdProcesses(t *testing.T) {
	out := "unit plat-notes-prod-web1-web.service\nMainPID=812\nActiveState=active\nActiveEnterTimestamp=@1764700000\n" +
		"unit plat-notes-prod-web1-worker.service\nMainPID=0\nActiveState=failed\nActiveEnterTimestamp=\n"
	ps := ParseSystemdProcesses("notes", "prod", "web1", []string{"web", "worker", "clock"}, out)
	want := []Process{
		{Type: "web", PID: 812, Running: true, Since: time.Unix(1764700000, 0)},
		{Type: "worker"},
		{Type: "clock"},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %+v", ps)
	}
	for i := range want {
		if ps[i].Type != want[i].Type || ps[i].PID != want[i].PID || ps[i].Running != want[i].Running || !ps[i].Since.Equal(want[i].Since) {
			t.Errorf("process %d = %+v, want %+v", i, ps[i], want[i])
		}
	}
}

func TestParseProcessesSince(t *testing.T) {
	ps := ParseProcesses("web 123 running 1764700000\nworker 456 dead 0\n")
	if len(ps) != 2 || !ps[0].Since.Equal(time.Unix(1764700000, 0)) || !ps[1].Since.IsZero() {
		t.Errorf("ParseProcesses = %+v", ps)
	}
}

// TestProcessesReportsSince runs the ps script on a real pid file.
func TestProcessesReportsSince(t *testing.T) {
	root := t.TempDir()
	pids := filepath.Join(root, ".plat", "pids")
	if err := os.MkdirAll(pids, 0o755); err != nil {
		t.Fatal(err)
	}
	// A pid that cannot be running.
	if err := os.WriteFile(filepath.Join(pids, "web.pid"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := Processes(root)
	out, err := exec.Command(cmd.Args[0], cmd.Args[1:]...).Output()
	if err != nil {
		t.Fatal(err)
	}
	ps := ParseProcesses(string(out))
	if len(ps) != 1 || ps[0].Running || ps[0].PID != 999999999 || time.Since(ps[0].Since) > time.Minute {
		t.Errorf("ps of %q = %+v", out, ps)
	}
	if !strings.HasPrefix(string(out), "web 999999999 dead ") {
		t.Errorf("output %q", out)
	}
}

func TestSystemdControlArgv(t *testing.T) {
	c := SystemdControl("stop", "notes", "prod", "web1", []string{"web", "worker"})
	got := c.Args[len(c.Args)-3:]
	want := []string{"stop", "plat-notes-prod-web1-web.service", "plat-notes-prod-web1-worker.service"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("argv tail = %q, want %q", got, want)
	}
}
