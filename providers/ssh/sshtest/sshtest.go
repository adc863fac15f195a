package sshtest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"
)

// DefaultSSHD is the OpenSSH server Start runs unless Options.SSHD says
// otherwise.
const DefaultSSHD = "/usr/sbin/sshd"

// envMarker is set in every session's environment (see Host.Stop).
const envMarker = "SSHTEST_HOST"

// startTimeout bounds how long one sshd may take to accept connections.
const startTimeout = 10 * time.Second

// Options configures a fleet.
type Options struct {
	// N is the number of hosts.
	N int
	// Dir is the directory the fleet writes into (keys, configs, logs,
	// each host's deploy root). "" means a new temporary directory that
	// Close removes; a given Dir is left in place.
	Dir string
	// Names are the host names (default host1…hostN); len(Names) must be
	// N when set.
	Names []string
	// SSHD is the sshd binary (default DefaultSSHD).
	SSHD string
	// LogLevel is sshd's LogLevel (default ERROR); VERBOSE or DEBUG1 log
	// each connection and forwarding to <host dir>/sshd.log.
	LogLevel string
	// HostKeyTypes are the host key types every host gets: "ed25519"
	// (default), "ecdsa" (P-256), "rsa" (2048 bits). KnownHosts lists
	// them all, as ssh-keyscan would.
	HostKeyTypes []string
	// HostCA is a certificate authority's private key file (as ssh-keygen
	// writes it): every host key gets a host certificate signed by it
	// with ssh-keygen -s CA -h, for the principals Addr and Name, and sshd
	// presents it (HostCertificate). Host.HostCertFiles lists them.
	HostCA string
	// TrustedUserCAKeys is a file of certificate authority public keys
	// sshd trusts to sign user certificates (its TrustedUserCAKeys).
	TrustedUserCAKeys string
	// NoAuthorizedKeys leaves the client key out of authorized_keys, so
	// that only a certificate authenticates.
	NoAuthorizedKeys bool
}

// Fleet is a set of running sshd hosts and the client files to reach them.
type Fleet struct {
	Hosts []*Host
	// KeyFile is the client's ed25519 private key (0600, unencrypted);
	// KeyFile+".pub" is its public key.
	KeyFile string
	// KnownHosts lists every host's key as [127.0.0.X]:PORT.
	KnownHosts string
	// SSHConfig has one Host alias per host (HostName, Port, User root,
	// IdentityFile, IdentitiesOnly, UserKnownHostsFile,
	// StrictHostKeyChecking yes).
	SSHConfig string
	// Dir is the fleet's directory.
	Dir string

	ownDir bool
}

// Host is one sshd.
type Host struct {
	Name string
	// Addr is the loopback address sshd listens on (127.0.0.X).
	Addr string
	Port int
	// Root is this host's own deploy root, an empty directory at start.
	Root string
	// Home is HOME for commands on this host (the login directory is
	// still root's): an empty directory, so no shell startup file of the
	// machine running the tests applies.
	Home string
	// HostKeyFile is the host's first private key (ed25519 unless
	// Options.HostKeyTypes says otherwise); HostKeyFiles lists all, in
	// Options.HostKeyTypes order. Public keys are next to them (+".pub").
	HostKeyFile  string
	HostKeyFiles []string
	// HostCertFiles are the host certificates of HostKeyFiles
	// (KEY-cert.pub) when Options.HostCA is set.
	HostCertFiles []string
	// Dir holds the host's sshd_config, pid and log files.
	Dir string
	// LogFile is sshd's stderr (-e).
	LogFile string

	configFile string
	keyTypes   []string
	hostCA     string
	sshd       string
	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{}
	frozen     []int // processes Freeze stopped
}

// New starts an n-host fleet for a test and closes it in t.Cleanup. When
// sshd cannot run here (not installed, not root, not Linux) the test is
// skipped, unless $CI is set: then it fails, so CI never silently skips.
func New(t testing.TB, n int) *Fleet {
	t.Helper()
	return NewWithOptions(t, Options{N: n})
}

// NewWithOptions is New with options; an empty opts.Dir means t.TempDir().
func NewWithOptions(t testing.TB, opts Options) *Fleet {
	t.Helper()
	if reason := unavailable(orDefault(opts.SSHD, DefaultSSHD)); reason != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("sshtest: %s (CI is set, so this is a failure; install openssh-server)", reason)
		}
		t.Skipf("sshtest: %s; install openssh-server and run as root to run this test", reason)
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	f, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("sshtest: close fleet: %v", err)
		}
	})
	return f
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// unavailable says why sshd cannot run here, or "".
func unavailable(sshd string) string {
	if runtime.GOOS != "linux" {
		return "sshd fleets need Linux (loopback 127.0.0.X addresses, /proc)"
	}
	if _, err := os.Stat(sshd); err != nil {
		return sshd + " is missing"
	}
	if os.Geteuid() != 0 {
		return "sshd needs to run as root"
	}
	return ""
}

// Start starts opts.N sshd servers on 127.0.0.2, 127.0.0.3, … with free
// ports and returns when every one accepts SSH connections. On error,
// whatever was started is stopped.
func Start(ctx context.Context, opts Options) (*Fleet, error) {
	if opts.N <= 0 {
		return nil, fmt.Errorf("start ssh fleet: N = %d, want at least 1", opts.N)
	}
	if opts.Names != nil && len(opts.Names) != opts.N {
		return nil, fmt.Errorf("start ssh fleet: %d names for %d hosts", len(opts.Names), opts.N)
	}
	if opts.N > 250*256 {
		return nil, fmt.Errorf("start ssh fleet: %d hosts is more than loopback addresses", opts.N)
	}
	sshd := opts.SSHD
	if sshd == "" {
		sshd = DefaultSSHD
	}
	if reason := unavailable(sshd); reason != "" {
		return nil, fmt.Errorf("start ssh fleet: %s", reason)
	}
	// Debian's sshd refuses to start without its privilege separation
	// directory, which only the service unit creates.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, fmt.Errorf("start ssh fleet: create privilege separation dir: %w", err)
	}
	logLevel := opts.LogLevel
	if logLevel == "" {
		logLevel = "ERROR"
	}
	extra := versionOptions(sshd)
	keyTypes := opts.HostKeyTypes
	if len(keyTypes) == 0 {
		keyTypes = []string{"ed25519"}
	}
	for _, kt := range keyTypes {
		if kt != "ed25519" && kt != "ecdsa" && kt != "rsa" {
			return nil, fmt.Errorf("start ssh fleet: host key type %q: want ed25519, ecdsa or rsa", kt)
		}
	}

	f := &Fleet{Dir: opts.Dir}
	if f.Dir == "" {
		d, err := os.MkdirTemp("", "sshtest-")
		if err != nil {
			return nil, fmt.Errorf("start ssh fleet: %w", err)
		}
		f.Dir, f.ownDir = d, true
	}
	fail := func(err error) (*Fleet, error) {
		f.Close()
		return nil, fmt.Errorf("start ssh fleet: %w", err)
	}

	clientDir := filepath.Join(f.Dir, "client")
	if err := os.MkdirAll(clientDir, 0o700); err != nil {
		return fail(err)
	}
	f.KeyFile = filepath.Join(clientDir, "id_ed25519")
	clientPub, err := writeKey(f.KeyFile, "ed25519", "sshtest client")
	if err != nil {
		return fail(err)
	}
	authorized := filepath.Join(f.Dir, "authorized_keys")
	authorizedKeys := ssh.MarshalAuthorizedKey(clientPub)
	if opts.NoAuthorizedKeys {
		authorizedKeys = nil
	}
	if err := os.WriteFile(authorized, authorizedKeys, 0o600); err != nil {
		return fail(err)
	}

	for i := 0; i < opts.N; i++ {
		name := fmt.Sprintf("host%d", i+1)
		if opts.Names != nil {
			name = opts.Names[i]
		}
		h := &Host{
			Name:     name,
			Addr:     fmt.Sprintf("127.0.%d.%d", (i+2)/256, (i+2)%256),
			Dir:      filepath.Join(f.Dir, name),
			sshd:     sshd,
			keyTypes: keyTypes,
			hostCA:   opts.HostCA,
		}
		h.Root = filepath.Join(h.Dir, "root")
		h.Home = filepath.Join(h.Dir, "home")
		if err := os.MkdirAll(h.Home, 0o755); err != nil {
			return fail(err)
		}
		for _, kt := range keyTypes {
			k := filepath.Join(h.Dir, "ssh_host_"+kt+"_key")
			h.HostKeyFiles = append(h.HostKeyFiles, k)
			if opts.HostCA != "" {
				h.HostCertFiles = append(h.HostCertFiles, k+"-cert.pub")
			}
		}
		h.HostKeyFile = h.HostKeyFiles[0]
		h.LogFile = filepath.Join(h.Dir, "sshd.log")
		h.configFile = filepath.Join(h.Dir, "sshd_config")
		if err := os.MkdirAll(h.Root, 0o755); err != nil {
			return fail(err)
		}
		if err := h.writeHostKeys(); err != nil {
			return fail(err)
		}
		h.Port, err = freePort(h.Addr)
		if err != nil {
			return fail(err)
		}
		hostExtra := extra
		if opts.TrustedUserCAKeys != "" {
			hostExtra = append([]string{"TrustedUserCAKeys " + opts.TrustedUserCAKeys}, hostExtra...)
		}
		if err := h.writeConfig(authorized, logLevel, hostExtra); err != nil {
			return fail(err)
		}
		f.Hosts = append(f.Hosts, h)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, h := range f.Hosts {
		g.Go(func() error { return h.startRetry(gctx) })
	}
	if err := g.Wait(); err != nil {
		return fail(err)
	}
	if err := f.writeKnownHosts(); err != nil {
		return fail(err)
	}
	if err := f.writeSSHConfig(); err != nil {
		return fail(err)
	}
	return f, nil
}

// Host returns the host with this name, or nil.
func (f *Fleet) Host(name string) *Host {
	for _, h := range f.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Close stops every sshd (and every process under it). It removes the
// fleet's directory only when Start created it.
func (f *Fleet) Close() error {
	var errs []error
	for _, h := range f.Hosts {
		if err := h.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if f.ownDir {
		if err := os.RemoveAll(f.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f *Fleet) writeKnownHosts() error {
	f.KnownHosts = filepath.Join(f.Dir, "known_hosts")
	var b strings.Builder
	for _, h := range f.Hosts {
		line, err := h.knownHostsLine()
		if err != nil {
			return err
		}
		b.WriteString(line + "\n")
	}
	return os.WriteFile(f.KnownHosts, []byte(b.String()), 0o600)
}

func (f *Fleet) writeSSHConfig() error {
	f.SSHConfig = filepath.Join(f.Dir, "ssh_config")
	var b strings.Builder
	b.WriteString("# Written by sshtest: one alias per test host.\n")
	for _, h := range f.Hosts {
		fmt.Fprintf(&b, "\nHost %s\n", h.Name)
		fmt.Fprintf(&b, "  HostName %s\n  Port %d\n  User root\n", h.Addr, h.Port)
		fmt.Fprintf(&b, "  IdentityFile %s\n  IdentitiesOnly yes\n", f.KeyFile)
		fmt.Fprintf(&b, "  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n", f.KnownHosts)
		b.WriteString("  BatchMode yes\n  LogLevel ERROR\n")
	}
	return os.WriteFile(f.SSHConfig, []byte(b.String()), 0o600)
}

// knownHostsLine is the known_hosts entries for the host's current keys,
// one line per key.
func (h *Host) knownHostsLine() (string, error) {
	var lines []string
	for _, f := range h.HostKeyFiles {
		data, err := os.ReadFile(f + ".pub")
		if err != nil {
			return "", err
		}
		lines = append(lines, fmt.Sprintf("[%s]:%d %s", h.Addr, h.Port, strings.TrimSpace(string(data))))
	}
	return strings.Join(lines, "\n"), nil
}

func (h *Host) writeHostKeys() error {
	for i, f := range h.HostKeyFiles {
		if _, err := writeKey(f, h.keyTypes[i], "sshtest host "+h.Name); err != nil {
			return err
		}
		if h.hostCA != "" {
			if err := SignHostKey(h.hostCA, f+".pub", h.Addr+","+h.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// SignHostKey signs the host public key pubFile with the certificate
// authority caFile (ssh-keygen -s caFile -h), for the comma-separated
// principals, valid forever. The certificate is pubFile without ".pub",
// plus "-cert.pub".
func SignHostKey(caFile, pubFile, principals string) error {
	return sign(caFile, pubFile, "-h", "-I", "sshtest host", "-n", principals)
}

// SignUserKey signs the user public key pubFile with the certificate
// authority caFile (ssh-keygen -s caFile), for the comma-separated
// principals (login names). validity is ssh-keygen's -V ("" for
// forever, e.g. "-1h:-1m" for a certificate already expired).
func SignUserKey(caFile, pubFile, principals, validity string) error {
	args := []string{"-I", "sshtest user", "-n", principals}
	if validity != "" {
		args = append(args, "-V", validity)
	}
	return sign(caFile, pubFile, args...)
}

func sign(caFile, pubFile string, args ...string) error {
	argv := append([]string{"-q", "-s", caFile}, args...)
	out, err := exec.Command("ssh-keygen", append(argv, pubFile)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ssh-keygen -s %s %s: %v: %s", caFile, pubFile, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// NewCA writes a new ed25519 certificate authority key pair with
// ssh-keygen (file and file+".pub", no passphrase).
func NewCA(file string) error {
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sshtest CA", "-f", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ssh-keygen -f %s: %v: %s", file, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (h *Host) writeConfig(authorized, logLevel string, extra []string) error {
	lines := []string{
		fmt.Sprintf("ListenAddress %s:%d", h.Addr, h.Port),
		"AuthorizedKeysFile " + authorized,
		"PidFile " + filepath.Join(h.Dir, "sshd.pid"),
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"AllowTcpForwarding yes",
		"MaxSessions 64",
		"MaxStartups 200",
		"LogLevel " + logLevel,
		"UseDNS no",
		"PrintMotd no",
		"PrintLastLog no",
		"Subsystem sftp internal-sftp",
		// Marks session processes so Stop finds those that outlived
		// their connection (sshd does not kill commands when a
		// connection without a terminal closes).
		// HOME is the host's own: the machine's ~/.bashrc (which bash
		// reads for ssh commands) stays out of the tests.
		"SetEnv " + envMarker + "=" + h.Dir + " HOME=" + h.Home,
	}
	for _, f := range h.HostKeyFiles {
		lines = append(lines, "HostKey "+f)
	}
	for _, f := range h.HostCertFiles {
		lines = append(lines, "HostCertificate "+f)
	}
	lines = append(lines, extra...)
	return os.WriteFile(h.configFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// versionOptions returns options newer sshd versions need for tests that
// kill connections on purpose: OpenSSH 9.8 penalises such clients.
func versionOptions(sshd string) []string {
	out, _ := exec.Command(sshd, "-V").CombinedOutput()
	m := regexp.MustCompile(`OpenSSH_(\d+)\.(\d+)`).FindSubmatch(out)
	if m == nil {
		return nil
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	if major > 9 || major == 9 && minor >= 8 {
		return []string{"PerSourcePenalties no"}
	}
	return nil
}

// Start (re)starts the host's sshd on its address and port and waits
// until it accepts SSH connections. Starting a running host is a no-op.
func (h *Host) Start() error {
	return h.start(nil)
}

// startRetry starts sshd, moving to another free port when the one chosen
// was taken in the meantime (only at fleet start, before anyone knows it).
func (h *Host) startRetry(ctx context.Context) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = h.start(ctx.Done()); err == nil || !strings.Contains(err.Error(), "Address already in use") {
			return err
		}
		if h.Port, err = freePort(h.Addr); err != nil {
			return err
		}
		if err = h.writeConfigPort(); err != nil {
			return err
		}
	}
	return err
}

func (h *Host) writeConfigPort() error {
	data, err := os.ReadFile(h.configFile)
	if err != nil {
		return err
	}
	re := regexp.MustCompile(`(?m)^ListenAddress .*$`)
	data = re.ReplaceAll(data, []byte(fmt.Sprintf("ListenAddress %s:%d", h.Addr, h.Port)))
	return os.WriteFile(h.configFile, data, 0o600)
}

// start runs sshd and waits until it greets, for at most startTimeout or
// until cancel is closed.
func (h *Host) start(cancel <-chan struct{}) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		select {
		case <-h.exited:
		default:
			return nil // running
		}
	}
	logf, err := os.OpenFile(h.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("start sshd %s: %w", h.Name, err)
	}
	logStart, _ := logf.Seek(0, 2)
	cmd := exec.Command(h.sshd, "-D", "-e", "-f", h.configFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start sshd %s: %w", h.Name, err)
	}
	logf.Close()
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	h.cmd, h.exited = cmd, exited

	addr := net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))
	timeout := time.NewTimer(startTimeout)
	defer timeout.Stop()
	for {
		if acceptsSSH(addr) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("start sshd %s on %s: it exited: %s", h.Name, addr, h.logSince(logStart))
		case <-cancel:
			killTree(cmd.Process.Pid)
			<-exited
			return fmt.Errorf("start sshd %s on %s: cancelled", h.Name, addr)
		case <-timeout.C:
			killTree(cmd.Process.Pid)
			<-exited
			return fmt.Errorf("start sshd %s on %s: not accepting connections after %s; log: %s", h.Name, addr, startTimeout, h.logSince(logStart))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// acceptsSSH reports whether an SSH server greets on addr.
func acceptsSSH(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-")
}

func (h *Host) logSince(off int64) string {
	data, err := os.ReadFile(h.LogFile)
	if err != nil || int64(len(data)) < off {
		return "(no log)"
	}
	s := strings.TrimSpace(string(data[off:]))
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	if s == "" {
		return "(empty log)"
	}
	return s
}

// Stop kills the host's sshd and every process under it (its connections
// and the commands they run), as if the machine died: clients see their
// TCP connections reset. It also kills commands that outlived their SSH
// connection (found by SSHTEST_HOST in their environment; commands run
// through sudo lose it). A frozen host is stopped as well. Stopping a
// stopped host is a no-op.
func (h *Host) Stop() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return nil
	}
	select {
	case <-h.exited:
		return nil
	default:
	}
	if err := killTree(h.cmd.Process.Pid); err != nil {
		return fmt.Errorf("stop sshd %s: %w", h.Name, err)
	}
	for _, p := range h.frozen {
		// Frozen processes cannot have exited, so the pids are still
		// theirs.
		syscall.Kill(p, syscall.SIGKILL)
	}
	h.frozen = nil
	killMarked(envMarker + "=" + h.Dir)
	select {
	case <-h.exited:
		return nil
	case <-time.After(startTimeout):
		return fmt.Errorf("stop sshd %s: still running after SIGKILL", h.Name)
	}
}

// Freeze stops (SIGSTOP) the host's sshd and every process under it: TCP
// connections stay open but nothing answers, like a hung machine or a
// dropped network. Thaw resumes them.
func (h *Host) Freeze() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return fmt.Errorf("freeze sshd %s: not running", h.Name)
	}
	pids, err := stopTree(h.cmd.Process.Pid)
	h.frozen = append(h.frozen, pids...)
	if err != nil {
		return fmt.Errorf("freeze sshd %s: %w", h.Name, err)
	}
	return nil
}

// Thaw resumes a frozen host.
func (h *Host) Thaw() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return fmt.Errorf("thaw sshd %s: not running", h.Name)
	}
	frozen := h.frozen
	h.frozen = nil
	if err := contTree(h.cmd.Process.Pid, frozen); err != nil {
		return fmt.Errorf("thaw sshd %s: %w", h.Name, err)
	}
	return nil
}

// RotateHostKey gives the host new keys (same types) and restarts its sshd
// if it was running. The fleet's KnownHosts keeps the old keys, so clients
// that check it see a changed host key. KnownHostsLine gives the new
// entries.
func (h *Host) RotateHostKey() error {
	h.mu.Lock()
	running := h.cmd != nil
	if running {
		select {
		case <-h.exited:
			running = false
		default:
		}
	}
	h.mu.Unlock()
	if running {
		if err := h.Stop(); err != nil {
			return err
		}
	}
	if err := h.writeHostKeys(); err != nil {
		return fmt.Errorf("rotate host key of %s: %w", h.Name, err)
	}
	if running {
		return h.Start()
	}
	return nil
}

// KnownHostsLine returns the known_hosts entries for the host's current
// keys ([127.0.0.X]:PORT TYPE KEY), one line per key, without a final
// newline.
func (h *Host) KnownHostsLine() (string, error) {
	return h.knownHostsLine()
}

// PublicKey returns the host's current public key (of HostKeyFile).
func (h *Host) PublicKey() (ssh.PublicKey, error) {
	data, err := os.ReadFile(h.HostKeyFile + ".pub")
	if err != nil {
		return nil, err
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(data)
	return k, err
}

// writeKey writes a new unencrypted private key of type kt (0600, OpenSSH
// format) to path and its public key to path+".pub".
func writeKey(path, kt, comment string) (ssh.PublicKey, error) {
	var pub, priv any
	var err error
	switch kt {
	case "ecdsa":
		var k *ecdsa.PrivateKey
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err == nil {
			pub, priv = &k.PublicKey, k
		}
	case "rsa":
		var k *rsa.PrivateKey
		k, err = rsa.GenerateKey(rand.Reader, 2048)
		if err == nil {
			pub, priv = &k.PublicKey, k
		}
	default:
		pub, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	spub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spub))) + " " + comment + "\n"
	if err := os.WriteFile(path+".pub", []byte(line), 0o644); err != nil {
		return nil, err
	}
	return spub, nil
}

// freePort asks the kernel for a free port on addr.
func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", addr, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
