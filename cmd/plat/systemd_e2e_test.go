package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// systemdImage is the base image plus systemd, a D-Bus session bus and
// pam_systemd, so that an ssh login gets a real systemd user manager
// (built here from Debian's packages, cached by tag).
const systemdImage = "plat-test/systemd:bookworm"

const systemdDockerfile = `FROM plat/base:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus dbus-user-session libpam-systemd >/dev/null && rm -rf /var/lib/apt/lists/*
`

// systemdHost is a container whose PID 1 is systemd, with sshd and a
// lingering user "deploy": the host a team running processes = "systemd"
// deploys to. Nothing in it is a stand-in.
type systemdHost struct {
	t                        *testing.T
	name, addr               string
	sshConfig, knownHosts    string
	unitDir, xdgRuntime, uid string
}

func dockerCLI(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	c := exec.Command("docker", args...)
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newSystemdHost(t *testing.T) *systemdHost {
	t.Helper()
	dockerWithBase(t) // or skip, outside CI
	if exec.Command("docker", "image", "inspect", systemdImage).Run() != nil {
		dockerCLI(t, []byte(systemdDockerfile), "build", "-q", "-t", systemdImage, "-")
	}
	name := fmt.Sprintf("plat-test-systemd-%d", time.Now().UnixNano())
	// systemd as PID 1 needs to mount its cgroup hierarchy and tmpfs
	// dirs: CAP_SYS_ADMIN and no seccomp filter, not --privileged.
	dockerCLI(t, nil, "run", "-d", "--name", name, "--hostname", "sysd1",
		"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
		"--cgroupns=private", "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
		"-e", "container=docker", systemdImage, "/lib/systemd/systemd")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	h := &systemdHost{t: t, name: name}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := exec.Command("docker", "exec", name, "systemctl", "is-system-running").Output()
		if s := strings.TrimSpace(string(out)); s == "running" || s == "degraded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemd in %s did not come up: %q", name, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The base image ships no host keys (every container would share
	// them): make this host's, then start sshd.
	dockerCLI(t, nil, "exec", name, "sh", "-c", `set -e
ssh-keygen -A >/dev/null
systemctl reset-failed ssh.service 2>/dev/null || true
systemctl restart ssh.service
useradd -m -s /bin/bash deploy
loginctl enable-linger deploy
install -d -m 700 -o deploy -g deploy ~deploy/.ssh`)
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "plat test", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	dockerCLI(t, pub, "exec", "-i", name, "sh", "-c", "cat > ~deploy/.ssh/authorized_keys && chown deploy: ~deploy/.ssh/authorized_keys && chmod 600 ~deploy/.ssh/authorized_keys")
	h.addr = dockerCLI(t, nil, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name)
	hostKey := strings.Fields(dockerCLI(t, nil, "exec", name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"))
	h.knownHosts = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(h.knownHosts, []byte(h.addr+" "+hostKey[0]+" "+hostKey[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.sshConfig = filepath.Join(dir, "ssh_config")
	cfg := fmt.Sprintf("Host sysd1\n  HostName %s\n  User deploy\n  IdentityFile %s\n  IdentitiesOnly yes\n  BatchMode yes\n", h.addr, key)
	if err := os.WriteFile(h.sshConfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h.uid = dockerCLI(t, nil, "exec", name, "id", "-u", "deploy")
	h.xdgRuntime = "/run/user/" + h.uid
	return h
}

// user runs a shell command as deploy, talking to deploy's own systemd
// user manager (as a login session would).
func (h *systemdHost) user(script string) string {
	h.t.Helper()
	return dockerCLI(h.t, nil, "exec", "-u", "deploy", "-e", "XDG_RUNTIME_DIR="+h.xdgRuntime, "-e", "HOME=/home/deploy", h.name, "sh", "-c", script)
}

// unit reports a unit's ActiveState, MainPID and WorkingDirectory as the
// user manager sees them.
func (h *systemdHost) unit(name string) (state string, pid int, wd string) {
	h.t.Helper()
	out := h.user("systemctl --user show -p ActiveState -p MainPID -p WorkingDirectory " + name)
	for _, l := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "ActiveState":
			state = v
		case "MainPID":
			pid, _ = strconv.Atoi(v)
		case "WorkingDirectory":
			wd = v
		}
	}
	return state, pid, wd
}

func (h *systemdHost) waitUnit(name, want string, notPid int) (pid int) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		state, pid, _ := h.unit(name)
		if state == want && (want != "active" || (pid > 0 && pid != notPid)) {
			return pid
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: %s (pid %d), want %s (not pid %d)", name, state, pid, want, notPid)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSystemdUserUnitsReal pushes the example with processes = "systemd"
// to a host whose processes a real systemd user manager runs: the first
// push (no log directory yet), ps, stop, a push that finds them down,
// restart, a crash that systemd itself restarts, a new release, a
// rollback and down, each checked against what systemctl says on the host.
func TestSystemdUserUnitsReal(t *testing.T) {
	h := newSystemdHost(t)
	p := newProject(t)
	p.write("plat.hcl", mustRead(t, filepath.Join(p.dir, "plat.hcl"))+fmt.Sprintf(`
environment "sysd" {
  provider "ssh" {
    ssh_config  = %q
    known_hosts = %q
  }
  deploy_to = "/home/deploy/notes"
  processes = "systemd"
  env = {
    MIGRATE_ON_START = "1"
  }
  private = "../notes-private/local"
  cluster "web" {
    hosts = ["sysd1"]
  }
}
`, h.sshConfig, h.knownHosts))
	unit := "plat-notes-sysd-sysd1-web.service"

	p.mustPlat("push", "sysd")
	pid := h.waitUnit(unit, "active", 0)
	if _, _, wd := h.unit(unit); wd != "/home/deploy/notes/releases/r1" {
		t.Errorf("the unit runs in %q, want release r1", wd)
	}
	if got := h.user("curl -fsS http://127.0.0.1:8000/healthz"); got == "" {
		t.Errorf("the web process does not answer on the host")
	}
	ps := p.mustPlat("ps", "sysd")
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^sysd1\s+r1\s+web\s+%d\s+running\s`, pid)).MatchString(ps.stdout) {
		t.Errorf("ps does not show systemd's MainPID %d running:\n%s", pid, ps.stdout)
	}
	// status reports the unit's state as systemd has it, not pid files
	// (there are none under systemd).
	st := p.mustPlat("status", "sysd")
	if !regexp.MustCompile(`(?m)^sysd1\s+r1\s.*\sweb active \(running\)\s`).MatchString(st.stdout) {
		t.Errorf("status does not show the unit active (running):\n%s", st.stdout)
	}
	var doc struct {
		Hosts []struct {
			Processes []struct {
				Type        string `json:"type"`
				Unit        string `json:"unit"`
				ActiveState string `json:"active_state"`
				SubState    string `json:"sub_state"`
				PID         int    `json:"pid"`
				Running     bool   `json:"running"`
			} `json:"processes"`
		} `json:"hosts"`
	}
	js := p.mustPlat("status", "sysd", "--json")
	if err := json.Unmarshal([]byte(js.stdout), &doc); err != nil || len(doc.Hosts) != 1 || len(doc.Hosts[0].Processes) != 1 {
		t.Fatalf("status --json: %v\n%s", err, js.stdout)
	}
	if got := doc.Hosts[0].Processes[0]; got.Type != "web" || got.Unit != unit || got.ActiveState != "active" || got.SubState != "running" || got.PID != pid || !got.Running {
		t.Errorf("status --json process = %+v, want web, %s, active/running, MainPID %d", got, unit, pid)
	}
	if mode := h.user("stat -c %a /home/deploy/.config/systemd/user/" + unit); mode != "600" {
		t.Errorf("the unit file (it holds the environment) has mode %s", mode)
	}

	// Stopped with plat stop, the unit is inactive; ps says so.
	p.mustPlat("stop", "sysd")
	h.waitUnit(unit, "inactive", 0)
	if r := p.plat("ps", "sysd"); r.code != 1 || !regexp.MustCompile(`(?m)^sysd1\s+r1\s+web\s+-\s+stopped`).MatchString(r.stdout) {
		t.Errorf("ps after stop: %s", r)
	}
	if st := p.mustPlat("status", "sysd"); !regexp.MustCompile(`(?m)^sysd1\s+r1\s.*\sweb inactive \(dead\)\s`).MatchString(st.stdout) {
		t.Errorf("status after stop does not show the unit inactive (dead):\n%s", st.stdout)
	}
	// A push with nothing new but processes down starts them.
	r := p.mustPlat("push", "sysd")
	if !strings.Contains(r.stdout+r.stderr, "nothing to push") {
		t.Errorf("the second push of the same commit rebuilt: %s", r)
	}
	pid = h.waitUnit(unit, "active", 0)

	// restart: systemd replaces the process.
	p.mustPlat("restart", "sysd")
	pid = h.waitUnit(unit, "active", pid)
	if ps := p.mustPlat("ps", "sysd"); !regexp.MustCompile(fmt.Sprintf(`(?m)^sysd1\s+r1\s+web\s+%d\s+running\s`, pid)).MatchString(ps.stdout) {
		t.Errorf("ps after restart does not show the new MainPID %d:\n%s", pid, ps.stdout)
	}

	// A crash: Restart=on-failure brings it back without plat.
	h.user(fmt.Sprintf("kill -9 %d", pid))
	pid = h.waitUnit(unit, "active", pid)

	// A new release moves the unit to r2; rollback moves it back.
	p.write("VERSION", "2.0-systemd\n")
	p.mustPlat("push", "sysd")
	pid = h.waitUnit(unit, "active", pid)
	if _, _, wd := h.unit(unit); wd != "/home/deploy/notes/releases/r2" {
		t.Errorf("after push r2 the unit runs in %q", wd)
	}
	p.mustPlat("rollback", "sysd")
	h.waitUnit(unit, "active", pid)
	if _, _, wd := h.unit(unit); wd != "/home/deploy/notes/releases/r1" {
		t.Errorf("after rollback the unit runs in %q", wd)
	}

	p.mustPlat("down", "sysd")
	h.waitUnit(unit, "inactive", 0)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
