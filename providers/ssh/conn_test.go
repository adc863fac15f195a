package ssh

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// hermeticSpec reaches h with the fleet's key and known_hosts only: no
// ~/.ssh/config, no agent.
func hermeticSpec(t *testing.T, f *sshtest.Fleet, h *sshtest.Host) HostSpec {
	return HostSpec{
		Alias:          h.Name,
		HostName:       h.Addr,
		Port:           h.Port,
		User:           "root",
		IdentityFiles:  []string{f.KeyFile},
		KnownHostsFile: f.KnownHosts,
		ConfigFile:     filepath.Join(t.TempDir(), "no-ssh-config"),
		AgentSocket:    "none",
		ConnectTimeout: 5 * time.Second,
	}
}

func dial(t *testing.T, spec HostSpec) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	c, err := Dial(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func output(t *testing.T, tr platform.Transport, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := tr.Run(ctx, &platform.Command{Args: args, Stdout: &out, Stderr: &errb}); err != nil {
		t.Fatalf("run %q: %v (stderr %q)", args, err, errb.String())
	}
	return out.String()
}

func TestTransportConformance(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	harness := func(become string) platformtest.TransportHarness {
		return platformtest.TransportHarness{
			New: func(t *testing.T) platform.Transport {
				spec := hermeticSpec(t, f, h)
				spec.Become = become
				return dial(t, spec)
			},
			// The host is this machine, so its deploy root is local.
			Scratch: func(t *testing.T) string {
				d, err := os.MkdirTemp(h.Root, "scratch-")
				if err != nil {
					t.Fatal(err)
				}
				return d
			},
		}
	}
	t.Run("login user", func(t *testing.T) {
		platformtest.TestTransport(t, harness(""))
	})
	t.Run("become root through sudo", func(t *testing.T) {
		if _, err := exec.LookPath("sudo"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("sudo is not installed (CI is set)")
			}
			t.Skip("sudo is not installed")
		}
		platformtest.TestTransport(t, harness("root"))
	})
}

func TestBecomeOtherUser(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sudo"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sudo is not installed (CI is set)")
		}
		t.Skip("sudo is not installed")
	}
	f := sshtest.New(t, 1)
	spec := hermeticSpec(t, f, f.Hosts[0])
	spec.Become = "nobody"
	c := dial(t, spec)
	if got := output(t, c, "id", "-un"); got != "nobody\n" {
		t.Fatalf("id -un with become nobody = %q", got)
	}
	spec.Become = "plat-no-such-user"
	if _, err := Dial(t.Context(), spec); err == nil || !strings.Contains(err.Error(), "become plat-no-such-user") {
		t.Fatalf("become a missing user: err = %v", err)
	}
}

func TestExitErrorCarriesStderrTail(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	c := dial(t, hermeticSpec(t, f, f.Hosts[0]))
	err := c.Run(t.Context(), &platform.Command{Args: []string{"sh", "-c", "echo noise >&2; echo boom >&2; exit 3"}})
	var x *platform.ExitError
	if !errors.As(err, &x) || x.Code != 3 || x.Stderr != "noise\nboom" {
		t.Fatalf("err = %#v, want exit 3 with stderr tail", err)
	}
	if errors.Is(err, ErrConnectionLost) {
		t.Fatalf("an exit status is not a lost connection: %v", err)
	}
}

func TestCommandTimeout(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	spec := hermeticSpec(t, f, f.Hosts[0])
	spec.CommandTimeout = 2 * time.Second
	c := dial(t, spec)
	err := c.Run(t.Context(), &platform.Command{Args: []string{"sleep", "20"}})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "command_timeout") {
		t.Fatalf("err = %v, want a command_timeout deadline error", err)
	}
	if got := output(t, c, "echo", "ok"); got != "ok\n" {
		t.Fatalf("after timeout: %q", got)
	}
}

func TestUnknownHostKeyRefused(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	spec := hermeticSpec(t, f, h)
	spec.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(spec.KnownHostsFile, []byte("# nobody yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Dial(t.Context(), spec)
	var hke *HostKeyError
	if !errors.As(err, &hke) || hke.Known {
		t.Fatalf("err = %v, want an unknown host key error", err)
	}
	for _, want := range []string{h.Name, spec.KnownHostsFile, `trust = "accept-new"`, "ssh-keyscan -p " + strconv.Itoa(h.Port) + " " + h.Addr, "SHA256:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	data, _ := os.ReadFile(spec.KnownHostsFile)
	if string(data) != "# nobody yet\n" {
		t.Errorf("strict trust wrote known_hosts: %q", data)
	}
	// A missing known_hosts file is the same: unknown.
	spec.KnownHostsFile = filepath.Join(t.TempDir(), "missing")
	if _, err := Dial(t.Context(), spec); !errors.As(err, &hke) || hke.Known {
		t.Fatalf("missing known_hosts: err = %v", err)
	}
}

func TestChangedHostKeyRefusedEvenWithAcceptNew(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 2)
	h := f.Hosts[1] // line 2 of known_hosts
	before, err := os.ReadFile(f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.RotateHostKey(); err != nil {
		t.Fatal(err)
	}
	for _, trust := range []string{"", TrustStrict, TrustAcceptNew} {
		spec := hermeticSpec(t, f, h)
		spec.Trust = trust
		_, err := Dial(t.Context(), spec)
		var hke *HostKeyError
		if !errors.As(err, &hke) || !hke.Known {
			t.Fatalf("trust %q: err = %v, want a host key mismatch", trust, err)
		}
		for _, want := range []string{"host key mismatch", h.Name, f.KnownHosts + " line 2", "ssh-keygen -R"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("trust %q: error %q does not mention %q", trust, err, want)
			}
		}
	}
	after, _ := os.ReadFile(f.KnownHosts)
	if !bytes.Equal(before, after) {
		t.Errorf("known_hosts changed after a refused key:\n%s", after)
	}
	// The other host is untouched.
	dial(t, hermeticSpec(t, f, f.Hosts[0]))
}

func TestAcceptNewRecordsKey(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	for _, hashed := range []bool{false, true} {
		t.Run(fmt.Sprintf("hashed=%v", hashed), func(t *testing.T) {
			spec := hermeticSpec(t, f, h)
			spec.KnownHostsFile = filepath.Join(t.TempDir(), "ssh", "known_hosts")
			if hashed {
				if err := os.WriteFile(spec.ConfigFile, []byte("Host *\n  HashKnownHosts yes\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			spec.Trust = TrustAcceptNew
			dial(t, spec).Close()

			st, err := os.Stat(spec.KnownHostsFile)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("known_hosts mode = %v, want 0600", st.Mode().Perm())
			}
			data, _ := os.ReadFile(spec.KnownHostsFile)
			line := strings.TrimSpace(string(data))
			pub, err := h.PublicKey()
			if err != nil {
				t.Fatal(err)
			}
			key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
			wantHost := fmt.Sprintf("[%s]:%d", h.Addr, h.Port)
			if hashed {
				if !strings.HasPrefix(line, "|1|") || strings.Contains(line, h.Addr) || !strings.HasSuffix(line, key) {
					t.Fatalf("hashed entry = %q", line)
				}
			} else if line != wantHost+" "+key {
				t.Fatalf("entry = %q, want %q", line, wantHost+" "+key)
			}

			// The recorded key now satisfies strict checking.
			spec.Trust = TrustStrict
			c := dial(t, spec)
			if got := output(t, c, "echo", "ok"); got != "ok\n" {
				t.Fatalf("strict dial after accept-new: %q", got)
			}
			after, _ := os.ReadFile(spec.KnownHostsFile)
			if !bytes.Equal(data, after) {
				t.Errorf("second dial rewrote known_hosts")
			}
		})
	}
}

func TestSSHConfigAlias(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 2)
	h := f.Hosts[1]
	// Only the alias: HostName, Port, User, IdentityFile and
	// UserKnownHostsFile all come from the generated ssh_config.
	c := dial(t, HostSpec{Alias: h.Name, ConfigFile: f.SSHConfig, AgentSocket: "none"})
	got := output(t, c, "sh", "-c", `echo "$(id -un) $SSH_CONNECTION"`)
	f1 := strings.Fields(got)
	if len(f1) != 5 || f1[0] != "root" || f1[3] != h.Addr || f1[4] != strconv.Itoa(h.Port) {
		t.Fatalf("user and SSH_CONNECTION = %q, want root and server %s %d", got, h.Addr, h.Port)
	}
	if c.Name() != h.Name {
		t.Errorf("Name() = %q", c.Name())
	}
	// Explicit fields override the config.
	_, err := Dial(t.Context(), HostSpec{Alias: h.Name, ConfigFile: f.SSHConfig, AgentSocket: "none", Port: f.Hosts[0].Port, ConnectTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("dial with an overriding wrong port succeeded")
	}
}

// jumpConfig writes an ssh_config with the fleet's aliases plus "target",
// the last host, reached through the given hops.
func jumpConfig(t *testing.T, f *sshtest.Fleet, hops string) string {
	base, err := os.ReadFile(f.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	h := f.Hosts[len(f.Hosts)-1]
	cfg := fmt.Sprintf("Host target\n  HostName %s\n  Port %d\n  User root\n  IdentityFile %s\n  UserKnownHostsFile %s\n  ProxyJump %s\n\n%s",
		h.Addr, h.Port, f.KeyFile, f.KnownHosts, hops, base)
	p := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProxyJump(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 3)
	jump1, jump2, target := f.Hosts[0], f.Hosts[1], f.Hosts[2]
	t.Run("one hop", func(t *testing.T) {
		cfg := jumpConfig(t, f, jump1.Name)
		c := dial(t, HostSpec{Alias: "target", ConfigFile: cfg, AgentSocket: "none"})
		got := output(t, c, "sh", "-c", `echo $SSH_CONNECTION`)
		if !strings.Contains(got, " "+target.Addr+" "+strconv.Itoa(target.Port)) {
			t.Fatalf("SSH_CONNECTION = %q, want the target's sshd", got)
		}
		// The connection runs through jump1: when it dies, so does ours,
		// and no new connection can be made while it is down.
		if err := jump1.Stop(); err != nil {
			t.Fatal(err)
		}
		defer jump1.Start()
		err := c.Run(t.Context(), &platform.Command{Args: []string{"true"}})
		if !errors.Is(err, ErrConnectionLost) {
			t.Fatalf("run after the jump host died: %v, want connection lost", err)
		}
		_, err = Dial(t.Context(), HostSpec{Alias: "target", ConfigFile: cfg, AgentSocket: "none", ConnectTimeout: 2 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "jump host") || !strings.Contains(err.Error(), jump1.Name) {
			t.Fatalf("dial with the jump host down: %v", err)
		}
		if err := jump1.Start(); err != nil {
			t.Fatal(err)
		}
		c2 := dial(t, HostSpec{Alias: "target", ConfigFile: cfg, AgentSocket: "none"})
		output(t, c2, "true")
	})
	t.Run("two hops, each verified", func(t *testing.T) {
		cfg := jumpConfig(t, f, jump1.Name+","+jump2.Name)
		c := dial(t, HostSpec{Alias: "target", ConfigFile: cfg, AgentSocket: "none"})
		output(t, c, "true")
		c.Close()
		if err := jump2.Stop(); err != nil {
			t.Fatal(err)
		}
		_, err := Dial(t.Context(), HostSpec{Alias: "target", ConfigFile: cfg, AgentSocket: "none", ConnectTimeout: 2 * time.Second})
		if err == nil || !strings.Contains(err.Error(), jump2.Name) {
			t.Fatalf("dial with the second hop down: %v", err)
		}
		// A hop with a changed key is refused like any host.
		if err := jump2.RotateHostKey(); err != nil {
			t.Fatal(err)
		}
		if err := jump2.Start(); err != nil {
			t.Fatal(err)
		}
		_, err = Dial(t.Context(), HostSpec{Alias: "target", ConfigFile: cfg, AgentSocket: "none"})
		var hke *HostKeyError
		if !errors.As(err, &hke) || hke.Host != jump2.Name {
			t.Fatalf("dial through a hop with a changed key: %v", err)
		}
	})
}

func TestDialerReachesHostLoopback(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	c := dial(t, hermeticSpec(t, f, f.Hosts[0]))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(nc).ReadString('\n')
			fmt.Fprintf(nc, "echo %s", line)
			nc.Close()
		}
	}()
	nc, err := c.DialContext(t.Context(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fmt.Fprintln(nc, "ping")
	got, _ := io.ReadAll(nc)
	if string(got) != "echo ping\n" {
		t.Fatalf("reply = %q", got)
	}
	// A closed port is an error, and the connection survives it.
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l2.Addr().String()
	l2.Close()
	if _, err := c.DialContext(t.Context(), "tcp", closed); err == nil || !strings.Contains(err.Error(), closed) {
		t.Fatalf("dial a closed port: %v", err)
	}
	output(t, c, "true")
	c.Close()
	if _, err := c.DialContext(t.Context(), "tcp", l.Addr().String()); err == nil {
		t.Fatal("dial through a closed Conn succeeded")
	}
}

// runUntilStarted starts a long command and returns once it is running
// on the host, with a channel for Run's result.
func runUntilStarted(t *testing.T, c *Conn, ctx context.Context) <-chan error {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := c.Run(ctx, &platform.Command{Args: []string{"sh", "-c", "echo started; exec sleep 60"}, Stdout: pw})
		pw.Close()
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || line != "started\n" {
		t.Fatalf("command did not start: %q %v", line, err)
	}
	go io.Copy(io.Discard, pr)
	return done
}

func TestKilledSSHDIsConnectionLost(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	spec := hermeticSpec(t, f, h)
	spec.KeepAlive = 500 * time.Millisecond
	c := dial(t, spec)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	done := runUntilStarted(t, c, ctx)
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	err := <-done
	assertLost(t, err, h.Name)
	// Later commands fail the same way, at once.
	assertLost(t, c.Run(t.Context(), &platform.Command{Args: []string{"true"}}), h.Name)
}

func TestKeepAliveDetectsHungHost(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	spec := hermeticSpec(t, f, h)
	spec.KeepAlive = 200 * time.Millisecond
	c := dial(t, spec)
	// The bound only keeps a broken keepalive from hanging the test; the
	// assertion is on the kind of error.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	done := runUntilStarted(t, c, ctx)
	if err := h.Freeze(); err != nil {
		t.Fatal(err)
	}
	// Close (Stop) kills the frozen processes; thawing first would let
	// the orphaned command escape.
	err := <-done
	assertLost(t, err, h.Name)
	if !strings.Contains(err.Error(), "keepalive") {
		t.Errorf("error %q does not say keepalives went unanswered", err)
	}
}

func assertLost(t *testing.T, err error, host string) {
	t.Helper()
	if !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("err = %v, want connection lost", err)
	}
	if platform.ExitCode(err) != -1 {
		t.Fatalf("a lost connection is not an exit status: %v", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lost connection reported as a timeout: %v", err)
	}
	if want := "connection to " + host; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "was lost") {
		t.Fatalf("error %q does not say the connection to %s was lost", err, host)
	}
}

func TestPassphraseProtectedKeyWithoutAgent(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_locked")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := hermeticSpec(t, f, f.Hosts[0])
	spec.IdentityFiles = []string{keyFile}
	_, err = Dial(t.Context(), spec)
	if err == nil || !strings.Contains(err.Error(), "passphrase-protected") || !strings.Contains(err.Error(), "ssh-add "+keyFile) {
		t.Fatalf("err = %v, want a passphrase hint", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatal("error leaks the passphrase")
	}
}

func TestAgentKeys(t *testing.T) {
	t.Parallel()
	agentBin, err := exec.LookPath("ssh-agent")
	if err != nil {
		t.Skip("ssh-agent is not installed")
	}
	f := sshtest.New(t, 1)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command(agentBin, "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 500 {
			t.Fatal("ssh-agent did not create its socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
	add := exec.Command("ssh-add", f.KeyFile)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	spec := hermeticSpec(t, f, f.Hosts[0])
	spec.IdentityFiles = nil
	spec.AgentSocket = sock
	c := dial(t, spec)
	if got := output(t, c, "echo", "agent"); got != "agent\n" {
		t.Fatalf("got %q", got)
	}
}

func TestWrongKeyRefused(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	keyFile := filepath.Join(t.TempDir(), "id_other")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := hermeticSpec(t, f, f.Hosts[0])
	spec.IdentityFiles = []string{keyFile}
	_, err := Dial(t.Context(), spec)
	if err == nil || !strings.Contains(err.Error(), "authenticate as root") || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("err = %v, want an authentication error naming the key", err)
	}
}

func TestConnectTimeoutOnHungHost(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	// The kernel still accepts TCP connections, but sshd never greets.
	if err := h.Freeze(); err != nil {
		t.Fatal(err)
	}
	spec := hermeticSpec(t, f, h)
	spec.ConnectTimeout = 500 * time.Millisecond
	_, err := Dial(t.Context(), spec)
	if err == nil || !strings.Contains(err.Error(), "connect_timeout") || !strings.Contains(err.Error(), h.Name) {
		t.Fatalf("err = %v, want a connect timeout naming %s", err, h.Name)
	}
	// Cancelling the caller's context stops a dial too.
	spec.ConnectTimeout = time.Minute
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := Dial(ctx, spec); !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(fmt.Sprint(err), "timed out") {
		t.Fatalf("cancelled dial: %v", err)
	}
}

func TestManyConcurrentCommandsShareOneConnection(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	spec := hermeticSpec(t, f, f.Hosts[0])
	spec.MaxSessions = 3 // more Runs than sessions: the rest wait their turn
	c := dial(t, spec)
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() {
			var out bytes.Buffer
			err := c.Run(t.Context(), &platform.Command{Args: []string{"sh", "-c", `sleep 0.05; echo "$0"`, strconv.Itoa(i)}, Stdout: &out})
			if err == nil && out.String() != strconv.Itoa(i)+"\n" {
				err = fmt.Errorf("command %d printed %q", i, out.String())
			}
			errs <- err
		}()
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A host with several key types: the handshake must pick the type
// known_hosts has, whatever the client's default preference.
func TestHostKeyAlgorithmFollowsKnownHosts(t *testing.T) {
	t.Parallel()
	f := sshtest.NewWithOptions(t, sshtest.Options{N: 1, HostKeyTypes: []string{"ed25519", "ecdsa"}})
	h := f.Hosts[0]
	lines, err := h.KnownHostsLine()
	if err != nil {
		t.Fatal(err)
	}
	entries := strings.Split(lines, "\n")
	if len(entries) != 2 {
		t.Fatalf("known_hosts lines = %q", entries)
	}
	for _, entry := range entries {
		spec := hermeticSpec(t, f, h)
		spec.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(spec.KnownHostsFile, []byte(entry+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c := dial(t, spec)
		output(t, c, "true")
	}
}
