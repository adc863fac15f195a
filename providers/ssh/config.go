package ssh

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sshconfig "github.com/kevinburke/ssh_config"
)

// Trust policies for host keys that known_hosts does not have yet.
const (
	// TrustStrict refuses hosts whose key is not in known_hosts.
	TrustStrict = "strict"
	// TrustAcceptNew records the key of a host seen for the first time.
	// A changed key is refused all the same.
	TrustAcceptNew = "accept-new"
)

// Defaults used when neither HostSpec nor ssh_config say otherwise.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultKeepAlive      = 15 * time.Second
	// DefaultKeepAliveCountMax is how many keepalive intervals may pass
	// without a reply before the connection is declared lost.
	DefaultKeepAliveCountMax = 3
	// DefaultMaxSessions stays below OpenSSH's default MaxSessions (10) so
	// concurrent Runs queue on the client instead of being refused.
	DefaultMaxSessions = 8
)

// HostSpec says how to reach one host. Empty fields fall back to the
// ssh_config entry for Alias, then to OpenSSH's defaults.
type HostSpec struct {
	// Alias is the name as written in plat.hcl, looked up in ssh_config
	// as a Host pattern.
	Alias string
	// HostName overrides ssh_config's HostName; "" means ssh_config's, or Alias.
	HostName string
	// Port is the SSH port; 0 means ssh_config's, or 22.
	Port int
	// User is the login user; "" means ssh_config's, or the current user.
	User string
	// IdentityFiles are private keys tried before ssh_config's IdentityFile
	// entries and the agent's keys.
	IdentityFiles []string
	// ConfigFile is the ssh_config to read; "" means ~/.ssh/config (and
	// /etc/ssh/ssh_config after it). A missing file is fine.
	ConfigFile string
	// KnownHostsFile is the known_hosts to verify against and record in;
	// "" means ssh_config's UserKnownHostsFile, or ~/.ssh/known_hosts
	// (plus /etc/ssh/ssh_known_hosts for reading).
	KnownHostsFile string
	// Trust is TrustStrict (default) or TrustAcceptNew. When "", ssh_config's
	// "StrictHostKeyChecking accept-new" selects TrustAcceptNew; no setting
	// ever disables host key checking.
	Trust string
	// Become runs every command as this user through `sudo -n -u USER --`.
	Become string
	// AgentSocket is the ssh-agent socket; "" means $SSH_AUTH_SOCK and
	// "none" disables the agent.
	AgentSocket string
	// ConnectTimeout bounds TCP connect plus SSH handshake, per hop.
	ConnectTimeout time.Duration
	// CommandTimeout bounds every Run (0: none).
	CommandTimeout time.Duration
	// KeepAlive is the keepalive interval; a connection that does not
	// answer for DefaultKeepAliveCountMax intervals is closed as lost.
	// 0 means ssh_config's ServerAliveInterval, or DefaultKeepAlive;
	// negative disables keepalives.
	KeepAlive time.Duration
	// MaxSessions caps concurrent commands on the connection; more Runs
	// wait for a free session. 0 means DefaultMaxSessions.
	MaxSessions int
}

// endpoint is one SSH server to connect to, fully resolved.
type endpoint struct {
	alias    string
	hostname string
	port     int
	user     string
	// identities are private key files; explicit ones must exist.
	identities     []identityFile
	identitiesOnly bool
	// hostKeyAddr is the name:port looked up in (and written to) known_hosts.
	hostKeyAddr    string
	knownHosts     []string // read, in order
	knownHostsW    string   // recorded into
	hashKnownHosts bool
	trust          string
	connectTimeout time.Duration
	keepAlive      time.Duration
	keepAliveMax   int
	jumps          []string
}

type identityFile struct {
	path     string
	explicit bool // named by the user: a missing file is an error
}

func (e *endpoint) addr() string {
	return joinHostPort(e.hostname, e.port)
}

// String names the endpoint for messages: "web1 (10.0.0.5:22)".
func (e *endpoint) String() string {
	a := e.addr()
	if e.alias == "" || e.alias == a {
		return a
	}
	return e.alias + " (" + a + ")"
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// sshConfig is the parsed ssh_config files, most specific first.
type sshConfig struct {
	files []*sshconfig.Config
	names []string
}

// loadSSHConfig reads path ("" means the user's and the system's files).
// Missing files are skipped; unparsable ones are errors.
func loadSSHConfig(path string) (*sshConfig, error) {
	var paths []string
	if path != "" {
		paths = []string{expandHome(path)}
	} else {
		if home, err := os.UserHomeDir(); err == nil {
			paths = append(paths, filepath.Join(home, ".ssh", "config"))
		}
		paths = append(paths, "/etc/ssh/ssh_config")
	}
	c := &sshConfig{}
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read ssh config: %w", err)
		}
		cfg, err := sshconfig.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("parse ssh config %s: %w (hint: plat understands Host blocks and Match Host/all; "+
				"set ssh_config in the provider block to a file without the rest)", p, err)
		}
		c.files = append(c.files, cfg)
		c.names = append(c.names, p)
	}
	return c, nil
}

// get returns the first value of key for alias (first obtained value wins,
// as in OpenSSH).
func (c *sshConfig) get(alias, key string) (string, error) {
	for i, f := range c.files {
		v, err := f.Get(alias, key)
		if err != nil {
			return "", fmt.Errorf("read %s for %s from %s: %w", key, alias, c.names[i], err)
		}
		if v != "" {
			return v, nil
		}
	}
	return "", nil
}

func (c *sshConfig) getAll(alias, key string) ([]string, error) {
	var out []string
	for i, f := range c.files {
		vs, err := f.GetAll(alias, key)
		if err != nil {
			return nil, fmt.Errorf("read %s for %s from %s: %w", key, alias, c.names[i], err)
		}
		out = append(out, vs...)
	}
	return out, nil
}

// resolve merges spec, ssh_config and defaults into an endpoint. Jump hosts
// are resolved with resolveJump.
func resolve(spec HostSpec, cfg *sshConfig) (*endpoint, error) {
	if spec.Alias == "" && spec.HostName == "" {
		return nil, errors.New("resolve host: no host name")
	}
	alias := spec.Alias
	if alias == "" {
		alias = spec.HostName
	}
	var firstErr error
	get := func(key string) string {
		v, err := cfg.get(alias, key)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return strings.TrimSpace(v)
	}
	e := &endpoint{alias: alias}

	e.user = spec.User
	if e.user == "" {
		e.user = get("User")
	}
	if e.user == "" {
		u, err := currentUser()
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", alias, err)
		}
		e.user = u
	}

	e.hostname = spec.HostName
	if e.hostname == "" {
		e.hostname = get("HostName")
		e.hostname = strings.ReplaceAll(e.hostname, "%h", alias)
	}
	if e.hostname == "" {
		e.hostname = alias
	}

	e.port = spec.Port
	if e.port == 0 {
		if p := get("Port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 || n > 65535 {
				return nil, fmt.Errorf("resolve %s: ssh config Port %q is not a port number", alias, p)
			}
			e.port = n
		}
	}
	if e.port == 0 {
		e.port = 22
	}

	tokens := strings.NewReplacer("%%", "%", "%h", e.hostname, "%r", e.user, "%u", e.user, "%p", strconv.Itoa(e.port), "%n", alias)
	for _, f := range spec.IdentityFiles {
		e.identities = append(e.identities, identityFile{path: expandHome(f), explicit: true})
	}
	ids, err := cfg.getAll(alias, "IdentityFile")
	if err != nil {
		return nil, err
	}
	for _, f := range ids {
		f = strings.Trim(strings.TrimSpace(f), `"`)
		if strings.EqualFold(f, "none") {
			continue
		}
		// OpenSSH only warns about a missing IdentityFile from the config.
		e.identities = append(e.identities, identityFile{path: expandHome(tokens.Replace(f))})
	}
	if len(e.identities) == 0 {
		if home, err := os.UserHomeDir(); err == nil {
			for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				e.identities = append(e.identities, identityFile{path: filepath.Join(home, ".ssh", n)})
			}
		}
	}
	e.identitiesOnly = strings.EqualFold(get("IdentitiesOnly"), "yes")

	hkName := get("HostKeyAlias")
	if hkName != "" {
		// OpenSSH looks an alias up without a port.
		e.hostKeyAddr = joinHostPort(hkName, 22)
	} else {
		e.hostKeyAddr = joinHostPort(e.hostname, e.port)
	}
	if spec.KnownHostsFile != "" {
		e.knownHosts = []string{expandHome(spec.KnownHostsFile)}
	} else {
		for _, f := range strings.Fields(get("UserKnownHostsFile")) {
			if strings.EqualFold(f, "none") {
				continue
			}
			e.knownHosts = append(e.knownHosts, expandHome(tokens.Replace(f)))
		}
		if len(e.knownHosts) == 0 {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, fmt.Errorf("resolve %s: find known_hosts: %w", alias, err)
			}
			e.knownHosts = []string{filepath.Join(home, ".ssh", "known_hosts")}
		}
		e.knownHosts = append(e.knownHosts, "/etc/ssh/ssh_known_hosts")
	}
	e.knownHostsW = e.knownHosts[0]
	e.hashKnownHosts = strings.EqualFold(get("HashKnownHosts"), "yes")

	switch spec.Trust {
	case TrustStrict, TrustAcceptNew:
		e.trust = spec.Trust
	case "":
		e.trust = TrustStrict
		if strings.EqualFold(get("StrictHostKeyChecking"), "accept-new") {
			e.trust = TrustAcceptNew
		}
	default:
		return nil, fmt.Errorf("resolve %s: trust %q is not %q or %q", alias, spec.Trust, TrustStrict, TrustAcceptNew)
	}

	e.connectTimeout = spec.ConnectTimeout
	if e.connectTimeout == 0 {
		if s := get("ConnectTimeout"); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n > 0 {
				e.connectTimeout = time.Duration(n) * time.Second
			}
		}
	}
	if e.connectTimeout <= 0 {
		e.connectTimeout = DefaultConnectTimeout
	}
	e.keepAlive = spec.KeepAlive
	if e.keepAlive == 0 {
		if s := get("ServerAliveInterval"); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n > 0 {
				e.keepAlive = time.Duration(n) * time.Second
			}
		}
	}
	if e.keepAlive == 0 {
		e.keepAlive = DefaultKeepAlive
	}
	e.keepAliveMax = DefaultKeepAliveCountMax
	if s := get("ServerAliveCountMax"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			e.keepAliveMax = n
		}
	}

	if pc := get("ProxyCommand"); pc != "" && !strings.EqualFold(pc, "none") {
		return nil, fmt.Errorf("resolve %s: ssh config sets ProxyCommand, which plat does not support (hint: use ProxyJump)", alias)
	}
	if pj := get("ProxyJump"); pj != "" && !strings.EqualFold(pj, "none") {
		for _, h := range strings.Split(pj, ",") {
			if h = strings.TrimSpace(h); h != "" {
				e.jumps = append(e.jumps, h)
			}
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return e, nil
}

// resolveJump resolves one ProxyJump hop, "[user@]host[:port]" (or an
// ssh:// URI), through the same ssh_config. A hop inherits the target's
// identity files, known_hosts and trust, but not its user or Become; its
// own ProxyJump is ignored (the hop list is explicit).
func resolveJump(hop string, target HostSpec, cfg *sshConfig) (*endpoint, error) {
	hop = strings.TrimPrefix(hop, "ssh://")
	var u string
	if i := strings.LastIndex(hop, "@"); i >= 0 {
		u, hop = hop[:i], hop[i+1:]
	}
	host, port := hop, 0
	if h, p, err := splitHostPortLoose(hop); err == nil && p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("resolve jump host %q: bad port", hop)
		}
		host, port = h, n
	}
	spec := HostSpec{
		Alias:          host,
		Port:           port,
		User:           u,
		IdentityFiles:  target.IdentityFiles,
		ConfigFile:     target.ConfigFile,
		KnownHostsFile: target.KnownHostsFile,
		Trust:          target.Trust,
		ConnectTimeout: target.ConnectTimeout,
		KeepAlive:      -1,
	}
	e, err := resolve(spec, cfg)
	if err != nil {
		return nil, err
	}
	e.jumps = nil
	return e, nil
}

// splitHostPortLoose splits "host:port" and "[v6]:port"; a bare host (or a
// bare IPv6 address) has no port.
func splitHostPortLoose(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "]")
		if i < 0 {
			return "", "", fmt.Errorf("missing ] in %q", s)
		}
		host, rest := s[1:i], s[i+1:]
		if rest == "" {
			return host, "", nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", "", fmt.Errorf("bad address %q", s)
		}
		return host, rest[1:], nil
	}
	if strings.Count(s, ":") == 1 {
		i := strings.Index(s, ":")
		return s[:i], s[i+1:], nil
	}
	return s, "", nil
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	if strings.Contains(p, "%d") {
		if home, err := os.UserHomeDir(); err == nil {
			p = strings.ReplaceAll(p, "%d", home)
		}
	}
	return p
}

func currentUser() (string, error) {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username, nil
	}
	if u := os.Getenv("USER"); u != "" {
		return u, nil
	}
	return "", errors.New("find the current user name (hint: set user in the provider block)")
}
