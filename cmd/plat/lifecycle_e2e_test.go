package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// webPid reads host's web pid file (0 if none).
func (p *project) webPid(host string) int {
	b, err := os.ReadFile(filepath.Join(p.hostDir(host), ".plat", "pids", "web.pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (p *project) psRows(args ...string) (int, []map[string]any) {
	p.t.Helper()
	r := p.plat(append([]string{"--json", "ps", "local"}, args...)...)
	var doc struct {
		Processes []map[string]any `json:"processes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		p.t.Fatalf("ps --json: %v\n%s", err, r)
	}
	return r.code, doc.Processes
}

// states maps host to the web process's state in plat ps.
func (p *project) states() map[string]string {
	p.t.Helper()
	_, rows := p.psRows()
	m := map[string]string{}
	for _, r := range rows {
		if r["type"] == "web" {
			m[r["host"].(string)] = r["state"].(string)
		}
	}
	return m
}

func TestLifecycleLocal(t *testing.T) {
	p := newFleet(t, `    stages = [1, "100%"]`, "")
	marker := filepath.Join(p.root, "sick")
	p.sickWhile(marker, "web1")
	p.mustPlat("push", "local")

	r := p.mustPlat("ps", "local")
	if !regexp.MustCompile(`(?m)^web6\s+r1\s+web\s+\d+\s+running\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \([\dhms.]+ ago\)$`).MatchString(r.stdout) {
		t.Errorf("ps:\n%s", r.stdout)
	}

	// stop one host: ps says so (exit 1), the others serve on.
	p.mustPlat("stop", "local", "--host", "web3")
	if code, _ := p.psRows(); code != 1 {
		t.Errorf("ps with a stopped process exited %d, want 1", code)
	}
	if st := p.states(); st["web3"] != "stopped" || st["web2"] != "running" {
		t.Fatalf("states after stop --host web3: %v", st)
	}
	if _, err := getPort(t, p.port+2, "/"); err == nil {
		t.Errorf("web3 still answers after plat stop")
	}
	// A push with nothing new starts what is down, rather than printing a
	// dead URL.
	r = p.mustPlat("push", "local")
	if !strings.Contains(r.stdout, "nothing to push") || !strings.Contains(r.stdout, "[web3] nothing new to push, but processes of r1 are down (web stopped): starting them") ||
		!strings.Contains(r.stdout, "[web3] finished: health") || strings.Contains(r.stdout, "[web2] running: start") {
		t.Errorf("push after stop:\n%s", r.stdout)
	}
	p.expectFleet(all("r1 2.0.0"))

	// A crashed process is dead; start starts only that one.
	if err := syscall.Kill(-p.webPid("web4"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for p.states()["web4"] != "dead" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if st := p.states(); st["web4"] != "dead" {
		t.Fatalf("a killed web process shows as %q", st["web4"])
	}
	before := p.webPid("web5")
	r = p.mustPlat("start", "local")
	if !strings.Contains(r.stdout, "[web4] running: start (web (r1))") || strings.Contains(r.stdout, "[web5] running: start") || !strings.Contains(r.stdout, "[web5] already running") {
		t.Errorf("start:\n%s", r.stdout)
	}
	if p.webPid("web5") != before {
		t.Errorf("start restarted a running process")
	}
	p.expectFleet(all("r1 2.0.0"))

	// The case: plat down, then plat push.
	p.mustPlat("down", "local")
	p.mustPlat("push", "local")
	p.expectFleet(all("r1 2.0.0"))

	// A rolling restart: the rollout's stages, every process new.
	old := map[string]int{}
	for _, h := range fleetHosts {
		old[h] = p.webPid(h)
	}
	r = p.mustPlat("restart", "local")
	if !strings.Contains(r.stdout, "stage 1/2: web1\n") || !strings.Contains(r.stdout, "stage 2/2: web2, web3, web4, web5, web6\n") ||
		strings.Index(r.stdout, "[web1] finished: health") > strings.Index(r.stdout, "stage 2/2") {
		t.Errorf("restart stages:\n%s", r.stdout)
	}
	for _, h := range fleetHosts {
		if p.webPid(h) == old[h] || p.webPid(h) == 0 {
			t.Errorf("%s: web pid %d after restart, was %d", h, p.webPid(h), old[h])
		}
		old[h] = p.webPid(h)
	}
	p.expectFleet(all("r1 2.0.0"))

	// The health gate stops a restart at its failing stage.
	touch(t, marker)
	r = p.plat("restart", "local")
	if r.code != 1 || !strings.Contains(r.stderr, "restart stage 1/2 failed") || !strings.Contains(r.stderr, "not restarted: web2, web3, web4, web5, web6") ||
		!strings.Contains(r.stderr, "health check failed") {
		t.Errorf("restart with a sick canary:\n%s", r)
	}
	for _, h := range fleetHosts[1:] {
		if p.webPid(h) != old[h] {
			t.Errorf("%s was restarted after the canary failed", h)
		}
	}
	os.Remove(marker)

	// Process types are checked against the release.
	if r := p.plat("restart", "local", "wrker"); r.code != 2 || !strings.Contains(r.stderr, `release r1 has no process type "wrker" (its Procfile has: web)`) {
		t.Errorf("unknown type: %s", r)
	}
	if r := p.plat("stop", "local", "--host", "web1", "web"); r.code != 0 || p.states()["web1"] != "stopped" {
		t.Errorf("stop web on web1: %s", r)
	}
}

// TestLifecycleSystemd drives ps, stop, start and restart for processes =
// "systemd" against the stand-in systemctl of TestRolloutSystemdUnits: it
// answers show with the state the test gives it and records every call, so
// the exact systemctl calls per host and type are asserted here. The same
// commands against a real systemd user manager are TestSystemdUserUnitsReal.
func TestLifecycleSystemd(t *testing.T) {
	p := newProject(t)
	hcl := filepath.Join(p.dir, "plat.hcl")
	b, _ := os.ReadFile(hcl)
	s := regexp.MustCompile(`(?s)\n  health \{.*?\n  \}\n`).ReplaceAllString(string(b), "\n")
	s = strings.Replace(s, "  cluster \"web\" {\n    count = 2\n  }\n}\n", "  cluster \"web\" {\n    count = 2\n  }\n  processes = \"systemd\"\n}\n", 1)
	if s == string(b) || !strings.Contains(s, `processes = "systemd"`) {
		t.Fatal("examples/notes/plat.hcl changed; update this test")
	}
	p.write("plat.hcl", s)

	home, bin := t.TempDir(), t.TempDir()
	calls := filepath.Join(home, "calls")
	state := filepath.Join(home, "state")
	stub := `#!/bin/sh
echo "$*" >> "` + calls + `"
if [ "$2" = show ]; then
  eval "u=\${$#}"
  if grep -qx "$u" "` + state + `" 2>/dev/null; then
    printf 'MainPID=4242\nActiveState=active\nSubState=running\nActiveEnterTimestamp=@1764700000\n'
  else
    printf 'MainPID=0\nActiveState=inactive\nSubState=dead\nActiveEnterTimestamp=\n'
  fi
fi
`
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=", "PATH=" + bin + ":" + os.Getenv("PATH")}
	if r := p.platEnv(env, "push", "local"); r.code != 0 {
		t.Fatalf("push: %s", r)
	}
	unit1, unit2 := "plat-notes-local-web1-web.service", "plat-notes-local-web2-web.service"
	if err := os.WriteFile(state, []byte(unit1+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := p.platEnv(env, "ps", "local")
	if r.code != 1 || !regexp.MustCompile(`(?m)^web1\s+r1\s+web\s+4242\s+running\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^web2\s+r1\s+web\s+-\s+stopped\s+-$`).MatchString(r.stdout) {
		t.Errorf("ps (web1 active, web2 inactive): %s", r)
	}
	// status asks systemd too (every unit file of the host), not pid files.
	if r := p.platEnv(env, "status", "local"); r.code != 0 || !regexp.MustCompile(`(?m)^web1\s+r1\s.*\sweb active \(running\)\s`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^web2\s+r1\s.*\sweb inactive \(dead\)\s`).MatchString(r.stdout) {
		t.Errorf("status (web1 active, web2 inactive): %s", r)
	}
	os.Remove(calls)
	if r := p.platEnv(env, "start", "local"); r.code != 0 {
		t.Fatalf("start: %s", r)
	}
	log, _ := os.ReadFile(calls)
	if !strings.Contains(string(log), "--user start "+unit2+"\n") || strings.Contains(string(log), "start "+unit1) {
		t.Errorf("start asked systemd for:\n%s", log)
	}
	os.Remove(calls)
	if r := p.platEnv(env, "stop", "local", "--host", "web1", "web"); r.code != 0 {
		t.Fatalf("stop: %s", r)
	}
	if log, _ := os.ReadFile(calls); !strings.Contains(string(log), "--user stop "+unit1+"\n") || strings.Contains(string(log), unit2) {
		t.Errorf("stop --host web1 web asked systemd for:\n%s", log)
	}
	os.Remove(calls)
	if r := p.platEnv(env, "restart", "local"); r.code != 0 {
		t.Fatalf("restart: %s", r)
	}
	if log, _ := os.ReadFile(calls); !strings.Contains(string(log), "--user restart "+unit1+"\n") || !strings.Contains(string(log), "--user restart "+unit2+"\n") {
		t.Errorf("restart asked systemd for:\n%s", log)
	}
}
