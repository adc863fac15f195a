package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plat-sh/plat/platform"
)

// DialConcurrency is how many hosts Targets connects to at once.
const DialConcurrency = 32

// DefaultAppPort is the PORT a host's web process gets when neither the
// host nor the app's health check names one.
const DefaultAppPort = platform.DefaultWebPort

// DefaultHostDir is the host-level plat directory (the port registry).
const DefaultHostDir = "~/.plat"

// Factory is the "ssh" provider factory.
type Factory struct{}

// Schema is the provider block's body. Every attribute is optional:
// ~/.ssh/config, ssh-agent and known_hosts fill in what is not set.
func (Factory) Schema() platform.Schema {
	return platform.Schema{Attributes: []platform.Attribute{
		{Name: "user", Type: platform.TypeString, Description: "login user (default: ~/.ssh/config's User, or your user name); host var \"user\" overrides it per host"},
		{Name: "port", Type: platform.TypeNumber, Description: "SSH port (default: ~/.ssh/config's Port, or 22); host var \"port\" overrides it per host"},
		{Name: "identity_file", Type: platform.TypeString, Description: "private key file, tried before ~/.ssh/config's IdentityFile and the agent's keys (relative to the project directory); host var \"identity_file\" overrides it per host"},
		{Name: "known_hosts", Type: platform.TypeString, Description: "known_hosts file (default: ~/.ssh/config's UserKnownHostsFile, or ~/.ssh/known_hosts)"},
		{Name: "ssh_config", Type: platform.TypeString, Description: "ssh_config file (default: ~/.ssh/config, then /etc/ssh/ssh_config)"},
		{Name: "trust", Type: platform.TypeString, Description: `"strict" (default): refuse hosts known_hosts lacks; "accept-new": record their key on first connect. A changed key is always refused.`},
		{Name: "become", Type: platform.TypeString, Description: "run every command as this user through passwordless sudo (sudo -n -u USER)"},
		{Name: "connect_timeout", Type: platform.TypeDuration, Description: `bound on connecting to one host (TCP connect, SSH handshake and authentication), per hop, e.g. "10s" (default: ~/.ssh/config's ConnectTimeout, or 10s)`},
		{Name: "command_timeout", Type: platform.TypeDuration, Description: `bound on every remote command, e.g. "10m" (default: none; a host that stops answering is caught by the keepalives)`},
		{Name: "server_alive_interval", Type: platform.TypeDuration, Description: `keepalive interval: a connection whose host does not answer for server_alive_count_max intervals is closed and the host's step fails, e.g. "5s" (default: ~/.ssh/config's ServerAliveInterval, or 15s; "0s" disables keepalives)`},
		{Name: "server_alive_count_max", Type: platform.TypeNumber, Description: `unanswered keepalive intervals before the connection is declared lost (default: ~/.ssh/config's ServerAliveCountMax, or 3)`},
		{Name: "base_port", Type: platform.TypeNumber, Description: `first web port the host's port registry gives an app that names none (no host port, no health port); each app on a host keeps its own from then on (default: 8000); host var "base_port" overrides it per host`},
		{Name: "host_dir", Type: platform.TypeString, Description: `host-level plat directory, shared by the apps on a host, that holds the port registry (default: "~/.plat", the login's home)`},
	}, Hosts: &platform.HostDefaults{PortFromHost: true}}
}

// settings is a decoded provider block.
type settings struct {
	user           string
	port           int
	identityFile   string
	knownHosts     string
	sshConfig      string
	trust          string
	become         string
	connectTimeout time.Duration
	commandTimeout time.Duration
	keepAlive      time.Duration // 0: ssh_config's, or the default; <0: off
	keepAliveMax   int
	basePort       int
	hostDir        string
}

// New checks the provider block and returns the provider.
func (Factory) New(cfg platform.ProviderConfig) (platform.Provider, error) {
	s := settings{
		user:         cfg.String("user", ""),
		port:         cfg.Int("port", 0),
		identityFile: cfg.String("identity_file", ""),
		knownHosts:   cfg.String("known_hosts", ""),
		sshConfig:    cfg.String("ssh_config", ""),
		trust:        cfg.String("trust", ""),
		become:       cfg.String("become", ""),
		basePort:     cfg.Int("base_port", DefaultAppPort),
		hostDir:      cfg.String("host_dir", DefaultHostDir),
	}
	if s.basePort <= 0 || s.basePort > 65535 {
		return nil, errors.New(cfg.At("base_port", fmt.Sprintf("ssh provider: base_port %d is not a port number", s.basePort)))
	}
	if s.hostDir == "" || (!strings.HasPrefix(s.hostDir, "/") && s.hostDir != "~" && !strings.HasPrefix(s.hostDir, "~/")) {
		return nil, errors.New(cfg.At("host_dir", fmt.Sprintf("ssh provider: host_dir = %q: want an absolute path or one under ~/", s.hostDir)))
	}
	if s.port < 0 || s.port > 65535 {
		return nil, errors.New(cfg.At("port", fmt.Sprintf("ssh provider: port %d is not a port number", s.port)))
	}
	switch s.trust {
	case "", TrustStrict, TrustAcceptNew:
	default:
		return nil, errors.New(cfg.At("trust", fmt.Sprintf("ssh provider: trust = %q: want %q or %q", s.trust, TrustStrict, TrustAcceptNew)))
	}
	var err error
	if s.connectTimeout, err = duration(cfg, "connect_timeout"); err != nil {
		return nil, err
	}
	if s.commandTimeout, err = duration(cfg, "command_timeout"); err != nil {
		return nil, err
	}
	if s.keepAlive, err = duration(cfg, "server_alive_interval"); err != nil {
		return nil, err
	}
	if _, set := cfg.Values["server_alive_interval"]; set && s.keepAlive == 0 {
		s.keepAlive = -1 // "0s": off, as ServerAliveInterval 0
	}
	if _, set := cfg.Values["server_alive_count_max"]; set {
		f, _ := cfg.Values["server_alive_count_max"].(float64)
		if f < 1 || f != float64(int(f)) || f > 1000 {
			return nil, errors.New(cfg.At("server_alive_count_max", fmt.Sprintf("ssh provider: server_alive_count_max = %v: want a whole number from 1 to 1000", cfg.Values["server_alive_count_max"])))
		}
		s.keepAliveMax = int(f)
	}
	return &provider{s: s}, nil
}

// duration reads a duration attribute. The loader has checked those it
// decoded (platform.TypeDuration); values from elsewhere (a test, a
// hand-built config) are checked here.
func duration(cfg platform.ProviderConfig, name string) (time.Duration, error) {
	v := cfg.String(name, "")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New(cfg.At(name, fmt.Sprintf("ssh provider: %s = %q is not a duration (hint: write it like \"10s\" or \"5m\")", name, v)))
	}
	return d, nil
}

// provider connects to the hosts an environment lists.
type provider struct {
	s settings
}

// Targets connects to every host of the environment (or of req.Hosts),
// DialConcurrency at a time. If any host fails, the connections made are
// closed and the error lists every failing host.
func (p *provider) Targets(ctx context.Context, req *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	hosts, err := selectHosts(req)
	if err != nil {
		return nil, err
	}
	projectDir := ""
	if req.StateDir != "" {
		projectDir = filepath.Dir(req.StateDir)
	}
	targets := make([]*platform.Target, len(hosts))
	errs := make([]error, len(hosts))
	sem := make(chan struct{}, DialConcurrency)
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			spec, err := p.spec(h, projectDir)
			if err != nil {
				errs[i] = err
				return
			}
			ports, err := p.ports(h)
			if err != nil {
				errs[i] = err
				return
			}
			ports.Named = h.Port != 0 || (req.App != nil && req.App.Health != nil && req.App.Health.Port != 0)
			conn, err := Dial(ctx, spec)
			if err != nil {
				errs[i] = err
				return
			}
			targets[i] = target(h, conn)
			targets[i].Ports = ports
		}()
	}
	wg.Wait()

	cerr := &ConnectError{Total: len(hosts)}
	for i, err := range errs {
		if err != nil {
			cerr.Hosts = append(cerr.Hosts, hosts[i].Name)
			cerr.Errs = append(cerr.Errs, err)
		}
	}
	if len(cerr.Hosts) > 0 {
		for _, t := range targets {
			if t != nil {
				t.Transport.Close()
			}
		}
		return nil, cerr
	}
	return &platform.TargetsResponse{Targets: targets}, nil
}

// selectHosts returns the environment's hosts, limited to req.Hosts, in
// the environment's order.
func selectHosts(req *platform.TargetsRequest) ([]*platform.Host, error) {
	if req.Env == nil {
		return nil, fmt.Errorf("ssh provider: no environment")
	}
	return platform.SelectHosts(req.Env, req.Hosts, "")
}

// spec is how to reach h: provider settings, overridden by the host vars
// user, port and identity_file.
func (p *provider) spec(h *platform.Host, projectDir string) (HostSpec, error) {
	alias := h.Address
	if alias == "" {
		alias = h.Name
	}
	spec := HostSpec{
		Alias:             alias,
		User:              p.s.user,
		Port:              p.s.port,
		ConfigFile:        p.s.sshConfig,
		KnownHostsFile:    p.s.knownHosts,
		Trust:             p.s.trust,
		Become:            p.s.become,
		ConnectTimeout:    p.s.connectTimeout,
		CommandTimeout:    p.s.commandTimeout,
		KeepAlive:         p.s.keepAlive,
		KeepAliveCountMax: p.s.keepAliveMax,
	}
	identity := p.s.identityFile
	if v := h.Vars["user"]; v != "" {
		spec.User = v
	}
	if v := h.Vars["port"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 65535 {
			return HostSpec{}, fmt.Errorf("host var port = %q is not a port number", v)
		}
		spec.Port = n
	}
	if v := h.Vars["identity_file"]; v != "" {
		identity = v
	}
	if identity != "" {
		if !filepath.IsAbs(identity) && !strings.HasPrefix(identity, "~") && projectDir != "" {
			identity = filepath.Join(projectDir, identity)
		}
		spec.IdentityFiles = []string{identity}
	}
	for _, f := range []*string{&spec.ConfigFile, &spec.KnownHostsFile} {
		if *f != "" && !filepath.IsAbs(*f) && !strings.HasPrefix(*f, "~") && projectDir != "" {
			*f = filepath.Join(projectDir, *f)
		}
	}
	return spec, nil
}

// ports is h's port registry: from the provider's base_port, or the host
// var base_port.
func (p *provider) ports(h *platform.Host) (*platform.PortRegistry, error) {
	r := &platform.PortRegistry{Dir: p.s.hostDir, Base: p.s.basePort}
	if v := h.Vars["base_port"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("host var base_port = %q is not a port number", v)
		}
		r.Base = n
	}
	return r, nil
}

// target describes h reached over conn: the web process listens on the
// host's loopback, and health checks reach it through the connection.
func target(h *platform.Host, conn *Conn) *platform.Target {
	t := platform.NewTarget(h)
	if t.Port == 0 {
		// The configuration names none: until the host's port registry
		// says otherwise (engine/ports.go).
		t.Port = DefaultAppPort
		t.HealthAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(t.Port))
	}
	t.Transport = conn
	return t
}

// ConnectError lists the hosts Targets could not connect to.
type ConnectError struct {
	Total int      // hosts tried
	Hosts []string // failing hosts, in environment order
	Errs  []error  // their errors
}

func (e *ConnectError) Error() string {
	var b strings.Builder
	if len(e.Hosts) == 1 {
		fmt.Fprintf(&b, "connect to host %s: %v", e.Hosts[0], e.Errs[0])
		return b.String()
	}
	fmt.Fprintf(&b, "connect to %d of %d hosts failed:", len(e.Hosts), e.Total)
	for i, h := range e.Hosts {
		fmt.Fprintf(&b, "\n  host %s: %v", h, e.Errs[i])
	}
	return b.String()
}

// Unwrap gives the per-host errors to errors.Is and errors.As.
func (e *ConnectError) Unwrap() []error { return e.Errs }

var (
	_ platform.ProviderFactory = Factory{}
	_ platform.Provider        = (*provider)(nil)
)
