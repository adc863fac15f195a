package ssh

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
	// KeepAliveCountMax is how many unanswered keepalive intervals end the
	// connection; 0 means ssh_config's ServerAliveCountMax, or
	// DefaultKeepAliveCountMax.
	KeepAliveCountMax int
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
	userKnownHosts int      // how many of knownHosts are the user's (the rest are global)
	knownHostsW    string   // recorded into
	hashKnownHosts bool
	trust          string
	connectTimeout time.Duration
	keepAlive      time.Duration
	keepAliveMax   int
	jumps          []string

	defaultIdentities bool     // no IdentityFile named: OpenSSH's defaults
	certificates      []string // CertificateFile entries
	agent             string   // ssh-agent socket, "" for none
	hostKeyAlias      string
	hostKeyAlgorithms []string // HostKeyAlgorithms when set outright
	proxyCommand      string   // ProxyCommand, tokens not yet expanded
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
	o, err := cfg.evaluate(alias)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", alias, err)
	}
	get := func(key string) string { return strings.TrimSpace(o.get(key)) }
	e := &endpoint{alias: alias}

	e.user = spec.User
	if e.user == "" {
		e.user = get("user")
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
		e.hostname = strings.ReplaceAll(get("hostname"), "%h", alias)
	}
	if e.hostname == "" {
		e.hostname = alias
	}

	e.port = spec.Port
	if e.port == 0 {
		if p := get("port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 || n > 65535 {
				return nil, fmt.Errorf("resolve %s: ssh config %s: Port %q is not a port number", alias, o.vals["port"].where(), p)
			}
			e.port = n
		}
	}
	if e.port == 0 {
		e.port = 22
	}

	tv := tokenValues{host: e.hostname, original: alias, ruser: e.user, port: e.port, hostKeyAlias: get("hostkeyalias")}
	path := func(f string) string { return expandEnv(expandHome(expandTokens(f, tv))) }
	for _, f := range spec.IdentityFiles {
		e.identities = append(e.identities, identityFile{path: expandHome(f), explicit: true})
	}
	for _, f := range o.all("identityfile") {
		// OpenSSH only warns about a missing IdentityFile from the config.
		e.identities = append(e.identities, identityFile{path: path(f)})
	}
	e.defaultIdentities = len(e.identities) == 0
	if e.defaultIdentities {
		if home := userHome(); home != "" {
			for _, n := range defaultIdentityNames {
				e.identities = append(e.identities, identityFile{path: filepath.Join(home, ".ssh", n)})
			}
		}
	}
	for _, f := range o.all("certificatefile") {
		e.certificates = append(e.certificates, path(f))
	}
	e.identitiesOnly = strings.EqualFold(get("identitiesonly"), "yes")

	e.agent = os.Getenv("SSH_AUTH_SOCK")
	switch ia := get("identityagent"); {
	case spec.AgentSocket != "":
		e.agent = spec.AgentSocket
		if e.agent == "none" {
			e.agent = ""
		}
	case ia == "":
	case strings.EqualFold(ia, "none"):
		e.agent = ""
	case ia == "SSH_AUTH_SOCK":
	case strings.HasPrefix(ia, "$"):
		e.agent = os.Getenv(strings.Trim(ia[1:], "{}"))
	default:
		e.agent = path(ia)
	}

	e.hostKeyAlias = get("hostkeyalias")
	if e.hostKeyAlias != "" {
		// OpenSSH looks an alias up without a port.
		e.hostKeyAddr = joinHostPort(e.hostKeyAlias, 22)
	} else {
		e.hostKeyAddr = joinHostPort(e.hostname, e.port)
	}
	if spec.KnownHostsFile != "" {
		e.knownHosts = []string{expandHome(spec.KnownHostsFile)}
		e.userKnownHosts = 1
	} else {
		for _, f := range o.words("userknownhostsfile") {
			if strings.EqualFold(f, "none") {
				continue
			}
			e.knownHosts = append(e.knownHosts, path(f))
		}
		if len(e.knownHosts) == 0 {
			home := userHome()
			if home == "" {
				return nil, fmt.Errorf("resolve %s: find known_hosts: no home directory", alias)
			}
			e.knownHosts = []string{filepath.Join(home, ".ssh", "known_hosts"), filepath.Join(home, ".ssh", "known_hosts2")}
		}
		e.userKnownHosts = len(e.knownHosts)
		global := o.words("globalknownhostsfile")
		if len(global) == 0 {
			global = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
		}
		for _, f := range global {
			if !strings.EqualFold(f, "none") {
				e.knownHosts = append(e.knownHosts, path(f))
			}
		}
	}
	e.knownHostsW = e.knownHosts[0]
	e.hashKnownHosts = strings.EqualFold(get("hashknownhosts"), "yes")
	if v := get("hostkeyalgorithms"); v != "" && !strings.ContainsAny(v[:1], "+-^") {
		e.hostKeyAlgorithms = strings.Split(v, ",")
	}

	switch spec.Trust {
	case TrustStrict, TrustAcceptNew:
		e.trust = spec.Trust
	case "":
		e.trust = TrustStrict
		if strings.EqualFold(get("stricthostkeychecking"), "accept-new") {
			e.trust = TrustAcceptNew
		}
	default:
		return nil, fmt.Errorf("resolve %s: trust %q is not %q or %q", alias, spec.Trust, TrustStrict, TrustAcceptNew)
	}

	seconds := func(key string) (time.Duration, error) {
		s := get(key)
		if s == "" || strings.EqualFold(s, "none") {
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("resolve %s: ssh config %s: %s %q is not a number of seconds", alias, o.vals[key].where(), key, s)
		}
		return time.Duration(n) * time.Second, nil
	}
	e.connectTimeout = spec.ConnectTimeout
	if e.connectTimeout == 0 {
		if e.connectTimeout, err = seconds("connecttimeout"); err != nil {
			return nil, err
		}
	}
	if e.connectTimeout <= 0 {
		e.connectTimeout = DefaultConnectTimeout
	}
	e.keepAlive = spec.KeepAlive
	if e.keepAlive == 0 {
		if e.keepAlive, err = seconds("serveraliveinterval"); err != nil {
			return nil, err
		}
	}
	if e.keepAlive == 0 {
		e.keepAlive = DefaultKeepAlive
	}
	e.keepAliveMax = spec.KeepAliveCountMax
	if e.keepAliveMax <= 0 {
		e.keepAliveMax = DefaultKeepAliveCountMax
		if s := get("serveralivecountmax"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("resolve %s: ssh config %s: ServerAliveCountMax %q is not a positive number", alias, o.vals["serveralivecountmax"].where(), s)
			}
			e.keepAliveMax = n
		}
	}

	// OpenSSH uses whichever of ProxyCommand and ProxyJump comes first.
	pc, pcOK := o.vals["proxycommand"]
	pj, pjOK := o.vals["proxyjump"]
	if pcOK && pjOK {
		if pc.order > pj.order {
			pcOK = false
		} else {
			pjOK = false
		}
	}
	if pcOK && !strings.EqualFold(strings.TrimSpace(pc.raw), "none") {
		e.proxyCommand = strings.TrimSpace(pc.raw)
	}
	if pjOK && len(pj.args) != 1 {
		return nil, fmt.Errorf("resolve %s: ssh config %s: ProxyJump %q: hops are separated by commas without spaces", alias, pj.where(), pj.raw)
	}
	if pjOK && !strings.EqualFold(pj.args[0], "none") {
		for _, h := range strings.Split(pj.args[0], ",") {
			if h = strings.TrimSpace(h); h != "" {
				e.jumps = append(e.jumps, h)
			}
		}
	}
	return e, nil
}

// defaultIdentityNames are the keys tried in ~/.ssh when no IdentityFile
// is named (OpenSSH's list, minus the hardware and obsolete key types).
var defaultIdentityNames = []string{"id_rsa", "id_ecdsa", "id_ed25519"}

// proxyCommandLine is the ProxyCommand with its tokens expanded.
func (e *endpoint) proxyCommandLine() string {
	return expandTokens(e.proxyCommand, tokenValues{host: e.hostname, original: e.alias, ruser: e.user, port: e.port, hostKeyAlias: e.hostKeyAlias})
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
		AgentSocket:    target.AgentSocket,
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
