package ssh

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// procsWith lists the pids whose command line contains s.
func procsWith(t *testing.T, s string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), s) {
			out = append(out, filepath.Base(filepath.Dir(d)))
		}
	}
	return out
}

// TestProxyCommand reaches a host through `ssh -W %h:%p` on another host
// of a real sshd fleet, the way fleets behind a bastion are often set up.
func TestProxyCommand(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 2)
	jump, target := f.Hosts[0], f.Hosts[1]
	dir := t.TempDir()
	marker := filepath.Join(dir, "tokens")
	cfg := filepath.Join(dir, "ssh_config")
	text := fmt.Sprintf(`Host target
  HostName %s
  Port %d
  User root
  IdentityFile %s
  UserKnownHostsFile %s
  ProxyCommand echo "%%r %%n %%h %%p %%%%" > %s; exec ssh -F %s -W %%h:%%p %s

# The usual "nc %%h %%p" shape: host and port as two words, no colon.
Host spaced
  HostName %s
  Port %d
  User root
  IdentityFile %s
  UserKnownHostsFile %s
  ProxyCommand exec sh %s %%h %%p

Host broken
  HostName %s
  Port %d
  ProxyCommand echo proxy refused >&2; exit 3
`, target.Addr, target.Port, f.KeyFile, f.KnownHosts, marker, f.SSHConfig, jump.Name,
		target.Addr, target.Port, f.KeyFile, f.KnownHosts, filepath.Join(dir, "nc.sh"),
		target.Addr, target.Port)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	nc := fmt.Sprintf("exec ssh -F %s -W \"$1:$2\" %s\n", f.SSHConfig, jump.Name)
	if err := os.WriteFile(filepath.Join(dir, "nc.sh"), []byte(nc), 0o600); err != nil {
		t.Fatal(err)
	}
	c := dial(t, HostSpec{Alias: "target", ConfigFile: cfg, AgentSocket: "none"})
	if got := output(t, c, "sh", "-c", "echo $SSH_CONNECTION"); !strings.Contains(got, " "+target.Addr+" ") {
		t.Fatalf("SSH_CONNECTION = %q, want the target's sshd", got)
	}
	tokens, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("root target %s %d %%\n", target.Addr, target.Port); string(tokens) != want {
		t.Errorf("tokens expanded to %q, want %q", tokens, want)
	}
	if len(procsWith(t, fmt.Sprintf("-W %s:%d", target.Addr, target.Port))) == 0 {
		t.Fatal("no ProxyCommand process while connected")
	}
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(procsWith(t, fmt.Sprintf("-W %s:%d", target.Addr, target.Port))) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the ProxyCommand process outlived Close")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// known_hosts is checked against the server's address, whatever the
	// shape of the command line.
	c = dial(t, HostSpec{Alias: "spaced", ConfigFile: cfg, AgentSocket: "none"})
	if got := output(t, c, "sh", "-c", "echo $SSH_CONNECTION"); !strings.Contains(got, " "+target.Addr+" ") {
		t.Fatalf("through nc.sh: SSH_CONNECTION = %q, want the target's sshd", got)
	}
	c.Close()

	start := time.Now()
	_, err = Dial(t.Context(), HostSpec{Alias: "broken", ConfigFile: cfg, AgentSocket: "none", IdentityFiles: []string{f.KeyFile}, KnownHostsFile: f.KnownHosts, ConnectTimeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "ProxyCommand") || !strings.Contains(err.Error(), "proxy refused") {
		t.Fatalf("dial through a failing ProxyCommand: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("a failing ProxyCommand took %s to report", d)
	}
}
