package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// Hosts that misbehave (issue 13, item 3): a host that accepts TCP but
// never speaks SSH, a host whose sshd session process is stopped
// (SIGSTOP) during the upload, the switch or the health check, and one
// whose connection is dropped mid-stream. plat gives up on that host
// within the configured bound, names the host and the step, and the
// rollout policy decides for the rest. Every plat run here is bounded by
// a context, so a regression fails instead of hanging.

// faultBound is how long one plat run may take in these tests: far more
// than a push to three hosts plus the keepalive bound, far less than a
// hang.
const faultBound = 3 * time.Minute

// keepalives are the fleet's: a stalled session is given up after 3s.
const keepalives = `    connect_timeout        = "2s"
    server_alive_interval  = "1s"
    server_alive_count_max = 3
`

// faultFleet is the notes project on a three-host sshd fleet, with short
// keepalives and the given rollout block body.
func faultFleet(t *testing.T, rollout string) (*sshtest.Fleet, *project, []int) {
	t.Helper()
	f := sshtest.New(t, 3)
	p := newProject(t)
	ports := p.sshEnv(f, "  rollout {\n"+rollout+"\n  }\n")
	t.Cleanup(func() { p.plat("down", "fleet") })
	hcl := filepath.Join(p.dir, "plat.hcl")
	b, err := os.ReadFile(hcl)
	if err != nil {
		t.Fatal(err)
	}
	kh := fmt.Sprintf("    known_hosts = %q\n", f.KnownHosts)
	if !bytes.Contains(b, []byte(kh)) {
		t.Fatalf("sshEnv's provider block changed; update faultFleet:\n%s", b)
	}
	b = bytes.Replace(b, []byte(kh), []byte(kh+keepalives), 1)
	if err := os.WriteFile(hcl, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "short keepalives")
	r := p.platBounded(nil, "push", "fleet")
	if r.code != 0 {
		t.Fatalf("first push: %s", r)
	}
	serves(t, ports, "release r1")
	return f, p, ports
}

// platBounded runs plat with --json, calling on (if not nil) for each
// event as it streams; faultBound kills a run that hangs, and the test
// fails saying so.
func (p *project) platBounded(on func(e platform.Event), args ...string) result {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.t.Context(), faultBound)
	defer cancel()
	args = append([]string{"-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port), "--json"}, args...)
	cmd := exec.CommandContext(ctx, platBin, args...)
	cmd.Env = append(append(os.Environ(), "CI=true"), p.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	var stdout strings.Builder
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		stdout.WriteString(sc.Text() + "\n")
		var e platform.Event
		if on != nil && json.Unmarshal(sc.Bytes(), &e) == nil {
			on(e)
		}
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		p.t.Fatalf("plat %v did not end within %s (killed): it hangs\nstderr:\n%s", args, faultBound, stderr.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("run plat: %v", err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// once calls fn the first time cond holds for an event.
func once(cond func(e platform.Event) bool, fn func()) func(platform.Event) {
	var o sync.Once
	return func(e platform.Event) {
		if cond(e) {
			o.Do(fn)
		}
	}
}

func stepStarts(host, prefix string) func(e platform.Event) bool {
	return func(e platform.Event) bool {
		return e.Type == platform.EventStepStart && e.Host == host && strings.HasPrefix(e.Step, prefix)
	}
}

// stall stops the sshd processes of h's open connections, failing the
// test if there are none.
func stall(t *testing.T, h *sshtest.Host) {
	t.Helper()
	if _, err := h.StallConnections(); err != nil {
		t.Error(err)
	}
}

// mustContain fails unless s holds every want.
func mustContain(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

// verified asserts that every host's current release is complete and
// matches its manifest (plat status --verify).
func (p *project) verified(f *sshtest.Fleet) {
	p.t.Helper()
	r := p.platBounded(nil, "status", "fleet", "--verify")
	if r.code != 0 {
		p.t.Fatalf("status --verify: %s", r)
	}
	for _, h := range f.Hosts {
		if cur := currents(p.t, f)[h.Name]; cur == "" {
			p.t.Errorf("%s has no current release", h.Name)
		}
	}
}

// recorded asserts that host's history has release rel with outcome.
func recorded(t *testing.T, h *sshtest.Host, rel, outcome string) {
	t.Helper()
	hist, _ := os.ReadFile(filepath.Join(h.Root, ".plat", "history"))
	for _, l := range strings.Split(string(hist), "\n") {
		if strings.Contains(l, `"release":"`+rel+`"`) && strings.Contains(l, `"outcome":"`+outcome+`"`) {
			return
		}
	}
	t.Errorf("%s's history lacks %s with outcome %s:\n%s", h.Name, rel, outcome, hist)
}

func TestHostThatNeverSpeaksSSH(t *testing.T) {
	f, p, ports := faultFleet(t, `    max_failures = 1`)
	// host2's SSH port is a listener that accepts and never writes.
	l, err := net.Listen("tcp", net.JoinHostPort(f.Hosts[1].Addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	mutePort := l.Addr().(*net.TCPAddr).Port
	hcl := filepath.Join(p.dir, "plat.hcl")
	b, _ := os.ReadFile(hcl)
	old := fmt.Sprintf("    host %q {\n", f.Hosts[1].Name)
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("sshEnv's host block changed:\n%s", b)
	}
	b = bytes.Replace(b, []byte(old), []byte(old+fmt.Sprintf("      vars = { port = \"%d\" }\n", mutePort)), 1)
	os.WriteFile(hcl, b, 0o644)
	p.git("commit", "-q", "-am", "host2 is mute")

	start := time.Now()
	r := p.platBounded(nil, "push", "fleet")
	took := time.Since(start)
	t.Logf("stderr:\n%s", r.stderr)
	if r.code == 0 {
		t.Fatalf("push to a mute host succeeded: %s", r)
	}
	mustContain(t, "stderr", r.stderr, "host2", fmt.Sprint(mutePort), "timed out after 2s (connect_timeout)")
	t.Logf("push gave up after %s", took.Round(100*time.Millisecond))
	// Nothing changed anywhere: the push stopped before the lock.
	assertAllOn(t, f, "r1")
	assertUnlocked(t, f)
	serves(t, ports, "release r1")
}

func TestHostStalledDuringUpload(t *testing.T) {
	f, p, ports := faultFleet(t, `    max_failures = 1`)
	victim := f.Hosts[1]
	p.addBigFile("blob.bin", 48<<20)
	r := p.platBounded(once(func(e platform.Event) bool {
		return e.Type == platform.EventProgress && e.Host == victim.Name && e.Bytes > 0
	}, func() { stall(t, victim) }), "push", "fleet")
	t.Logf("stderr:\n%s", r.stderr)
	if r.code != 1 {
		t.Fatalf("push with a stalled host: %s", r)
	}
	mustContain(t, "stderr", r.stderr, "upload r2 failed; no host was switched", victim.Name,
		"no answer from the host for 3s", "server_alive_interval 1s × server_alive_count_max 3")
	assertAllOn(t, f, "r1")
	serves(t, ports, "release r1")
	if err := victim.Thaw(); err != nil {
		t.Fatal(err)
	}
	p.verified(f)
	// The next push takes the stalled push's lock over and deploys.
	r = p.platBounded(nil, "push", "fleet")
	if r.code != 0 {
		t.Fatalf("next push: %s", r)
	}
	assertAllOn(t, f, "r3")
	serves(t, ports, "release r3")

	// The same host drops its connection in the middle of the stream.
	p.addBigFile("blob2.bin", 48<<20)
	r = p.platBounded(once(func(e platform.Event) bool {
		return e.Type == platform.EventProgress && e.Host == victim.Name && e.Bytes > 0
	}, func() {
		if _, err := victim.DropConnections(); err != nil {
			t.Error(err)
		}
	}), "push", "fleet")
	t.Logf("stderr:\n%s", r.stderr)
	if r.code != 1 {
		t.Fatalf("push with a dropped host: %s", r)
	}
	mustContain(t, "stderr", r.stderr, "upload r4 failed; no host was switched", victim.Name, "was lost")
	assertAllOn(t, f, "r3")
	serves(t, ports, "release r3")
	p.verified(f)
}

func TestHostStalledDuringSwitch(t *testing.T) {
	f, p, ports := faultFleet(t, `    stages       = [1, "100%"]
    max_failures = 1`)
	victim := f.Hosts[1]
	p.write("VERSION", "2.0.0\n")
	r := p.platBounded(once(stepStarts(victim.Name, "switch r2"), func() { stall(t, victim) }), "push", "fleet")
	t.Logf("stderr:\n%s", r.stderr)
	if r.code != 1 {
		t.Fatalf("push with a host stalled in its switch: %s", r)
	}
	// max_failures = 1: the others finish; the stalled host is reached
	// again on a new connection and switched back.
	mustContain(t, "stderr", r.stderr, "1 of 3 hosts failed and were switched back (max_failures = 1); the others run r2",
		"\n  "+victim.Name+": switch r2: ", "no answer from the host for 3s")
	// The new connection also recorded the failure and unlocked.
	victimSwitchedBack(t, f, ports, victim)
	if err := victim.Thaw(); err != nil {
		t.Fatal(err)
	}
	p.verified(f)
	if r := p.platBounded(nil, "push", "fleet", "--resume"); r.code != 0 {
		t.Fatalf("push --resume: %s", r)
	}
	assertAllOn(t, f, "r2")
	serves(t, ports, "release r2")
}

func TestHostStalledDuringHealthCheck(t *testing.T) {
	marks := t.TempDir()
	f, p, ports := faultFleet(t, fmt.Sprintf(`    stages     = [2, "100%%"]
    on_failure = "rollback"
    health {
      command = ["sh", "-c", "touch \"$1/health.$PORT\"; sleep 1", "sh", %q]
    }`, marks))
	victim := f.Hosts[1]
	mark := filepath.Join(marks, fmt.Sprintf("health.%d", ports[1]))
	os.Remove(mark)
	stop := make(chan struct{})
	stalled := make(chan struct{})
	go func() {
		defer close(stalled)
		for {
			if _, err := os.Stat(mark); err == nil {
				stall(t, victim)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	p.write("VERSION", "2.0.0\n")
	r := p.platBounded(nil, "push", "fleet")
	close(stop)
	<-stalled
	t.Logf("stderr:\n%s", r.stderr)
	if r.code != 1 {
		t.Fatalf("push with a host stalled in its health check: %s", r)
	}
	// The first stage (host1, host2) fails past max_failures = 0:
	// on_failure = "rollback" returns host1, host2 is switched back on a
	// new connection, host3 never switched.
	mustContain(t, "stderr", r.stderr, "stage 1/2 failed", "\n  "+victim.Name+": health: ", "no answer from the host for 3s",
		"every switched host is back on its previous release")
	assertAllOn(t, f, "r1")
	serves(t, ports, "release r1")
	assertUnlocked(t, f)
	if err := victim.Thaw(); err != nil {
		t.Fatal(err)
	}
	p.verified(f)
}

func TestHostDroppedDuringSwitch(t *testing.T) {
	f, p, ports := faultFleet(t, `    stages       = [1, "100%"]
    max_failures = 1`)
	victim := f.Hosts[1]
	p.write("VERSION", "2.0.0\n")
	r := p.platBounded(once(stepStarts(victim.Name, "switch r2"), func() {
		if _, err := victim.DropConnections(); err != nil {
			t.Error(err)
		}
	}), "push", "fleet")
	t.Logf("stderr:\n%s", r.stderr)
	if r.code != 1 {
		t.Fatalf("push with a host dropped in its switch: %s", r)
	}
	mustContain(t, "stderr", r.stderr, "1 of 3 hosts failed and were switched back (max_failures = 1)",
		"\n  "+victim.Name+": switch r2: ", "was lost")
	victimSwitchedBack(t, f, ports, victim)
	p.verified(f)
}

func TestHostFrozenDuringSwitch(t *testing.T) {
	f, p, ports := faultFleet(t, `    stages       = [1, "100%"]
    max_failures = 1`)
	victim := f.Hosts[1]
	p.write("VERSION", "2.0.0\n")
	// The whole machine hangs: its connection and its listener.
	r := p.platBounded(once(stepStarts(victim.Name, "switch r2"), func() {
		if err := victim.Freeze(); err != nil {
			t.Error(err)
		}
	}), "push", "fleet")
	t.Logf("stderr:\n%s", r.stderr)
	if r.code != 1 {
		t.Fatalf("push with a host frozen in its switch: %s", r)
	}
	mustContain(t, "stderr", r.stderr,
		"1 of 3 hosts failed and were switched back, but for 1 that could not be reached again (max_failures = 1); the others run r2",
		"\n  "+victim.Name+": switch r2: ", "no answer from the host for 3s",
		"it could not be switched back: connect again:", "timed out after 2s (connect_timeout)",
		"its current release is r1 or r2, complete either way")
	cur := currents(t, f)
	if cur["host1"] != "r2" || cur["host3"] != "r2" {
		t.Errorf("the other hosts did not finish: %v", cur)
	}
	serves(t, []int{ports[0], ports[2]}, "release r2")
	if err := victim.Thaw(); err != nil {
		t.Fatal(err)
	}
	p.verified(f)
	if r := p.platBounded(nil, "push", "fleet", "--resume"); r.code != 0 {
		t.Fatalf("push --resume: %s", r)
	}
	assertAllOn(t, f, "r2")
	serves(t, ports, "release r2")
}

func TestKeepaliveSettingsValidated(t *testing.T) {
	dir := t.TempDir()
	hcl := `app "a" {}

environment "prod" {
  provider "ssh" {
    server_alive_interval  = "5s"
    server_alive_count_max = 0
  }
  cluster "web" { hosts = ["web1"] }
}

environment "dev" {
  provider "ssh" {
    connect_timeout       = "10"
    server_alive_interval = "2s"
  }
  cluster "web" { hosts = ["web1"] }
}
`
	if err := os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	validate := func() result {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, platBin, "-C", dir, "validate")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return result{code, out.String(), errb.String()}
	}
	// A bad duration is a diagnostic at load, with its source line.
	r := validate()
	if r.code != 2 {
		t.Fatalf("validate: %s", r)
	}
	mustContain(t, "stderr", r.stderr, "Invalid duration", "plat.hcl line 13", `connect_timeout       = "10"`)
	// What the schema cannot say, the provider says, with file:line:col.
	hcl = strings.Replace(hcl, `"10"`, `"10s"`, 1)
	os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(hcl), 0o644)
	r = validate()
	if r.code != 2 {
		t.Fatalf("validate: %s", r)
	}
	mustContain(t, "stderr", r.stderr, "environment prod: plat.hcl:6:30: ssh provider: server_alive_count_max = 0: want a whole number")
	// The same, as a diagnostic of validate's JSON document.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, platBin, "-C", dir, "--json", "validate").Output()
	var doc struct {
		Valid       bool `json:"valid"`
		Diagnostics []struct {
			Summary, Detail, File string
			Line, Column          int
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("validate --json: %v\n%s", err, out)
	}
	if doc.Valid || len(doc.Diagnostics) != 1 || doc.Diagnostics[0].Line != 6 || doc.Diagnostics[0].Column != 30 ||
		!strings.Contains(doc.Diagnostics[0].Detail, "server_alive_count_max = 0") {
		t.Errorf("validate --json: %s", out)
	}
	hcl = strings.Replace(hcl, "= 0\n", "= 4\n", 1)
	os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(hcl), 0o644)
	if r = validate(); r.code != 0 {
		t.Fatalf("validate a good file: %s", r)
	}
}

// victimSwitchedBack checks the outcome of a push to r2 in which host2,
// the victim, failed its switch and was switched back: it runs and serves
// r1, the others r2, its history records the failure, and no host is
// locked.
func victimSwitchedBack(t *testing.T, f *sshtest.Fleet, ports []int, victim *sshtest.Host) {
	t.Helper()
	want := map[string]string{"host1": "r2", "host2": "r1", "host3": "r2"}
	if cur := currents(t, f); !maps.Equal(cur, want) {
		t.Errorf("currents = %v, want %v", cur, want)
	}
	serves(t, []int{ports[0], ports[2]}, "release r2")
	serves(t, ports[1:2], "release r1")
	recorded(t, victim, "r2", "failed")
	assertUnlocked(t, f)
}
