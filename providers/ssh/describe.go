package ssh

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/plat-sh/plat/platform"
)

// Resolved is what plat resolved for reaching one host of an environment:
// the provider block, the host's vars and ssh_config together, as Dial
// uses them. Paths are expanded (~, %-tokens, ${VAR}); the ProxyCommand
// is as written, its tokens expanded when it runs, as OpenSSH does.
type Resolved struct {
	Name                  string   `json:"name"` // the host in plat.hcl
	Host                  string   `json:"host"` // the name looked up in ssh_config
	HostName              string   `json:"hostname"`
	Port                  int      `json:"port"`
	User                  string   `json:"user"`
	IdentityFiles         []string `json:"identity_files"`
	CertificateFiles      []string `json:"certificate_files"`
	IdentitiesOnly        bool     `json:"identities_only"`
	IdentityAgent         string   `json:"identity_agent"` // "" for none
	ProxyCommand          string   `json:"proxy_command,omitempty"`
	ProxyJump             []string `json:"proxy_jump,omitempty"`
	UserKnownHostsFiles   []string `json:"user_known_hosts_files"`
	GlobalKnownHostsFiles []string `json:"global_known_hosts_files"`
	HostKeyAlias          string   `json:"host_key_alias,omitempty"`
	HostKeyAlgorithms     []string `json:"host_key_algorithms,omitempty"`
	StrictHostKeyChecking string   `json:"strict_host_key_checking"` // TrustStrict or TrustAcceptNew
	HashKnownHosts        bool     `json:"hash_known_hosts"`
	ConnectTimeout        int      `json:"connect_timeout"`        // seconds
	ServerAliveInterval   int      `json:"server_alive_interval"`  // seconds, 0 for none
	ServerAliveCountMax   int      `json:"server_alive_count_max"` // intervals
}

// ResolveEnvironment resolves the hosts of env (all of them, or the one
// named host) without connecting. projectDir is what relative paths in
// the provider block are relative to.
func ResolveEnvironment(env *platform.Environment, projectDir, host string) ([]Resolved, error) {
	if env.Provider.Type != "ssh" {
		return nil, fmt.Errorf("environment %s uses the %s provider: plat ssh-config shows ssh environments only", env.Name, env.Provider.Type)
	}
	pv, err := Factory{}.New(env.Provider)
	if err != nil {
		return nil, err
	}
	p := pv.(*provider)
	var only []string
	if host != "" {
		only = []string{host}
	}
	hosts, err := platform.SelectHosts(env, only, "")
	if err != nil {
		var names []string
		for _, h := range env.Hosts() {
			names = append(names, h.Name)
		}
		return nil, fmt.Errorf("%w (its hosts: %s)", err, strings.Join(names, ", "))
	}
	var out []Resolved
	for _, h := range hosts {
		spec, err := p.spec(h, projectDir)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		r, err := resolveSpec(spec)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		r.Name = h.Name
		out = append(out, r)
	}
	return out, nil
}

// resolveSpec is what Dial would use for spec.
func resolveSpec(spec HostSpec) (Resolved, error) {
	cfg, err := loadSSHConfig(spec.ConfigFile)
	if err != nil {
		return Resolved{}, err
	}
	e, err := resolve(spec, cfg)
	if err != nil {
		return Resolved{}, err
	}
	r := Resolved{
		Name:                  e.alias,
		Host:                  e.alias,
		HostName:              e.hostname,
		Port:                  e.port,
		User:                  e.user,
		CertificateFiles:      e.certificates,
		IdentitiesOnly:        e.identitiesOnly,
		IdentityAgent:         e.agent,
		ProxyCommand:          e.proxyCommand,
		ProxyJump:             e.jumps,
		UserKnownHostsFiles:   e.knownHosts[:e.userKnownHosts],
		GlobalKnownHostsFiles: e.knownHosts[e.userKnownHosts:],
		HostKeyAlias:          e.hostKeyAlias,
		HostKeyAlgorithms:     e.hostKeyAlgorithms,
		StrictHostKeyChecking: e.trust,
		HashKnownHosts:        e.hashKnownHosts,
		ConnectTimeout:        int(e.connectTimeout.Seconds()),
		ServerAliveCountMax:   e.keepAliveMax,
	}
	if e.keepAlive > 0 {
		r.ServerAliveInterval = int(e.keepAlive.Seconds())
	}
	r.IdentityFiles = []string{} // JSON lists, never null
	for _, id := range e.identities {
		r.IdentityFiles = append(r.IdentityFiles, id.path)
	}
	for _, l := range []*[]string{&r.CertificateFiles, &r.UserKnownHostsFiles, &r.GlobalKnownHostsFiles} {
		if *l == nil {
			*l = []string{}
		}
	}
	return r, nil
}

// WriteSSHConfig writes r as `ssh -G` does: one lower-case "key value"
// line per setting, a key repeated for each IdentityFile and
// CertificateFile, so the output can be compared with ssh -G's.
func (r Resolved) WriteSSHConfig(w io.Writer) error {
	var b strings.Builder
	kv := func(k, v string) { b.WriteString(k + " " + v + "\n") }
	yesNo := func(v bool) string {
		if v {
			return "yes"
		}
		return "no"
	}
	orNone := func(v string) string {
		if v == "" {
			return "none"
		}
		return v
	}
	kv("host", r.Host)
	kv("hostname", r.HostName)
	kv("port", strconv.Itoa(r.Port))
	kv("user", r.User)
	for _, f := range r.IdentityFiles {
		kv("identityfile", f)
	}
	for _, f := range r.CertificateFiles {
		kv("certificatefile", f)
	}
	kv("identitiesonly", yesNo(r.IdentitiesOnly))
	kv("identityagent", orNone(r.IdentityAgent))
	if r.ProxyCommand != "" {
		kv("proxycommand", r.ProxyCommand)
	}
	if len(r.ProxyJump) > 0 {
		kv("proxyjump", strings.Join(r.ProxyJump, ","))
	}
	kv("userknownhostsfile", orNone(strings.Join(r.UserKnownHostsFiles, " ")))
	kv("globalknownhostsfile", orNone(strings.Join(r.GlobalKnownHostsFiles, " ")))
	if r.HostKeyAlias != "" {
		kv("hostkeyalias", r.HostKeyAlias)
	}
	if len(r.HostKeyAlgorithms) > 0 {
		kv("hostkeyalgorithms", strings.Join(r.HostKeyAlgorithms, ","))
	}
	strict := "true"
	if r.StrictHostKeyChecking == TrustAcceptNew {
		strict = "accept-new"
	}
	kv("stricthostkeychecking", strict)
	kv("hashknownhosts", yesNo(r.HashKnownHosts))
	kv("connecttimeout", strconv.Itoa(r.ConnectTimeout))
	kv("serveraliveinterval", strconv.Itoa(r.ServerAliveInterval))
	kv("serveralivecountmax", strconv.Itoa(r.ServerAliveCountMax))
	_, err := io.WriteString(w, b.String())
	return err
}
