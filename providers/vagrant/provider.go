package vagrant

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plat-sh/plat/platform/atomicfile"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/ssh"
)

// Provider drives Vagrant for one environment's provider block. It is safe
// for concurrent use; Vagrant itself refuses two actions on one machine at
// once (plat's deploy lock keeps that from happening).
type Provider struct {
	cfg *config
	// bin is the vagrant program, looked up in PATH.
	bin string
}

// Defaults for targets.
const (
	// DefaultPort is the web process's PORT when neither the host nor the
	// app's health check names one.
	DefaultPort = platform.DefaultWebPort
	// connectTimeout bounds one SSH connect to a machine.
	connectTimeout = 20 * time.Second
)

// project is one environment's Vagrant project, resolved for one request.
type project struct {
	cfg *config
	env *platform.Environment
	app *platform.App
	// stateDir is the project's .plat directory.
	stateDir string
	// dir is <stateDir>/vagrant/<env>: the generated Vagrantfile and
	// Vagrant's .vagrant state (generated mode), plat's key pair,
	// known_hosts, ssh_config and record of the machines it brought up.
	dir string
	// generated is false when the user brings their own Vagrantfile.
	generated bool
	cli       *cli
	// hosts are the declared hosts; empty only with a user's Vagrantfile,
	// whose machines are then all the environment's hosts.
	hosts []*platform.Host
}

func (p *Provider) project(env *platform.Environment, app *platform.App, stateDir string) (*project, error) {
	if env == nil {
		return nil, errors.New("vagrant provider: no environment")
	}
	// Before anything else, so a missing vagrant is the error a user sees
	// (not a Docker image build that would be for nothing).
	if _, err := exec.LookPath(p.bin); err != nil {
		return nil, ErrNotInstalled
	}
	if !filepath.IsAbs(stateDir) {
		return nil, fmt.Errorf("vagrant provider: state directory %q is not absolute", stateDir)
	}
	pj := &project{
		cfg:       p.cfg,
		env:       env,
		app:       app,
		stateDir:  stateDir,
		dir:       filepath.Join(stateDir, "vagrant", env.Name),
		generated: p.cfg.Vagrantfile == "",
		hosts:     env.Hosts(),
	}
	if pj.generated {
		if len(pj.hosts) == 0 {
			return nil, fmt.Errorf("environment %s: the vagrant provider has no machines to create: declare a cluster (cluster \"web\" { count = 2 }) or set vagrantfile", env.Name)
		}
		pj.cli = &cli{bin: p.bin, dir: pj.dir}
		return pj, nil
	}
	vf := p.cfg.Vagrantfile
	if !filepath.IsAbs(vf) {
		// Relative to the project directory, which holds .plat.
		vf = filepath.Join(filepath.Dir(stateDir), vf)
	}
	st, err := os.Stat(vf)
	if err != nil {
		return nil, fmt.Errorf("environment %s: vagrantfile %s: %w", env.Name, vf, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("environment %s: vagrantfile %s is a directory, not a Vagrantfile", env.Name, vf)
	}
	// Vagrant keeps its machine state next to the user's Vagrantfile, so
	// `vagrant status` run by hand there sees the machines plat manages.
	pj.cli = &cli{bin: p.bin, dir: filepath.Dir(vf), vagrantfile: filepath.Base(vf), keepDotfile: true}
	return pj, nil
}

// names are the machines a command acts on; nil means all of them.
func (pj *project) names() []string {
	var out []string
	for _, h := range pj.hosts {
		out = append(out, h.Name)
	}
	return out
}

func (pj *project) appName() string {
	if pj.app == nil {
		return ""
	}
	return pj.app.Name
}

// prepare writes what `vagrant up` needs in generated mode: the state
// directory, the environment's key pair, the docker image and the
// Vagrantfile (rewritten only when it changes).
func (pj *project) prepare(ctx context.Context) error {
	if err := os.MkdirAll(pj.dir, 0o700); err != nil {
		return fmt.Errorf("create vagrant state directory: %w", err)
	}
	if !pj.generated {
		return nil
	}
	spec := pj.spec()
	if spec.PrivateKeyPath != "" {
		if err := EnsureImage(ctx); err != nil {
			return err
		}
		_, pub, err := ensureKey(pj.dir)
		if err != nil {
			return err
		}
		spec.AuthorizedKey = pub
	}
	return writeFileIfChanged(filepath.Join(pj.dir, "Vagrantfile"), []byte(renderVagrantfile(spec)), 0o644)
}

// spec describes the generated Vagrantfile. With the docker provider and
// plat's own image, machines trust the environment's generated key
// (AuthorizedKey is filled in by prepare, which creates the key).
func (pj *project) spec() *vagrantfileSpec {
	spec := &vagrantfileSpec{
		App:      pj.appName(),
		Env:      pj.env.Name,
		Provider: pj.cfg.Provider,
		Box:      pj.cfg.Box,
		Image:    pj.cfg.Image,
		Memory:   pj.cfg.Memory,
		CPUs:     pj.cfg.CPUs,
		Settings: pj.cfg.Settings,
	}
	if pj.cfg.Provider == "docker" && pj.cfg.Image == DefaultImage {
		spec.PrivateKeyPath = filepath.Join(pj.dir, keyFile)
	}
	for _, h := range pj.hosts {
		m := machineSpec{Name: h.Name, Roles: h.AllRoles()}
		if pj.cfg.Provider == "docker" {
			m.Container = containerName(pj.stateDir, pj.env.Name, h.Name)
		}
		spec.Machines = append(spec.Machines, m)
	}
	if pj.cfg.Provider == "docker" {
		names := make([]string, len(spec.Machines))
		for i, m := range spec.Machines {
			names[i] = m.Container
		}
		for i, port := range sshPorts(names) {
			spec.Machines[i].SSHPort = port
		}
	}
	return spec
}

// hasVagrantfile reports whether there is anything for Vagrant to look at.
func (pj *project) hasVagrantfile() bool {
	if !pj.generated {
		return true
	}
	_, err := os.Stat(filepath.Join(pj.dir, "Vagrantfile"))
	return err == nil
}

// status runs `vagrant status` and indexes the machines by name.
func (pj *project) status(ctx context.Context) ([]MachineState, map[string]MachineState, error) {
	recs, err := pj.cli.run(ctx, nil, append([]string{"status"}, pj.userNames()...)...)
	if err != nil {
		return nil, nil, err
	}
	ms := ParseStatus(recs)
	idx := make(map[string]MachineState, len(ms))
	for _, m := range ms {
		idx[m.Name] = m
	}
	return ms, idx, nil
}

// userNames are the machine names to pass to status: none (all machines)
// in generated mode, where the Vagrantfile holds exactly the hosts, and
// with a user's Vagrantfile that plat.hcl does not narrow down.
func (pj *project) userNames() []string {
	if pj.generated {
		return nil
	}
	return pj.names()
}

// machineHosts pairs every selected machine with its declared host (a
// host made from the machine when plat.hcl declares none).
// The machines' hosts are resolved as the loader resolves declared ones
// (platform.ResolveHosts), and selected in order (platform.SelectHosts).
func (pj *project) machineHosts(ms []MachineState, only []string) ([]*platform.Host, error) {
	env := pj.env
	if len(pj.hosts) == 0 {
		c := &platform.Cluster{}
		for _, m := range ms {
			c.Hosts = append(c.Hosts, &platform.Host{Name: m.Name})
		}
		env = &platform.Environment{Name: pj.env.Name, DeployTo: pj.env.DeployTo, Provider: pj.env.Provider, Clusters: []*platform.Cluster{c}}
		platform.ResolveHosts(pj.app, env, Factory{}.Schema().Hosts)
	}
	return platform.SelectHosts(env, only, "")
}

// Up creates and starts every machine with `vagrant up`. Vagrant brings
// machines up in parallel when its provider allows it (docker does;
// VirtualBox does not, and Vagrant then goes one by one by itself).
func (p *Provider) Up(ctx context.Context, req *platform.UpRequest) (*platform.UpResponse, error) {
	pj, err := p.project(req.Env, req.App, req.StateDir)
	if err != nil {
		return nil, err
	}
	if err := pj.removeStale(ctx, req.Progress); err != nil {
		return nil, err
	}
	if err := pj.prepare(ctx); err != nil {
		return nil, fmt.Errorf("prepare vagrant environment %s: %w", pj.env.Name, err)
	}
	// `vagrant up` on machines that already run still takes seconds
	// (it waits for SSH and checks provisioners); a status is enough to
	// leave them alone.
	after, idx, err := pj.status(ctx)
	if err != nil {
		return nil, err
	}
	ran := !allRunning(pj, after, idx)
	if ran {
		before := pj.cli.machineIDs()
		args := []string{"up", "--parallel"}
		if pj.cfg.Provider != "" {
			args = append(args, "--provider="+pj.cfg.Provider)
		}
		args = append(args, pj.userNames()...)
		if _, err := pj.cli.run(ctx, progressFunc(req.Progress), args...); err != nil {
			return nil, fmt.Errorf("bring up environment %s: %w", pj.env.Name, err)
		}
		if after, idx, err = pj.status(ctx); err != nil {
			return nil, err
		}
		if err := pj.forgetFresh(before, after); err != nil {
			return nil, err
		}
	}
	var up []string
	for _, m := range after {
		if m.State == "running" {
			up = append(up, m.Name)
		}
	}
	if req.Progress != nil && !ran {
		for _, n := range up {
			req.Progress(n, "already running")
		}
	}
	if err := recordBroughtUp(pj.dir, up); err != nil {
		return nil, err
	}
	hosts, err := pj.machineHosts(after, nil)
	if err != nil {
		return nil, err
	}
	return &platform.UpResponse{Machines: machineStatuses(hosts, idx)}, nil
}

// removeStale destroys machines of the generated Vagrantfile whose hosts
// the environment no longer declares, before the file is rewritten
// without them and Vagrant loses track of them (their containers or VMs
// would run on, unmanaged).
func (pj *project) removeStale(ctx context.Context, progress func(host, line string)) error {
	if !pj.generated || !pj.hasVagrantfile() {
		return nil
	}
	declared := map[string]bool{}
	for _, h := range pj.hosts {
		declared[h.Name] = true
	}
	var stale []string
	for name := range pj.cli.machineIDs() {
		if !declared[name] {
			stale = append(stale, name)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	slices.Sort(stale)
	if _, err := pj.cli.run(ctx, progressFunc(progress), append([]string{"destroy", "-f"}, stale...)...); err != nil {
		return fmt.Errorf("remove machines no longer in environment %s (%s): %w", pj.env.Name, strings.Join(stale, ", "), err)
	}
	return forgetHostKeys(filepath.Join(pj.dir, "known_hosts"), stale)
}

// allRunning reports whether every machine Up would act on runs.
func allRunning(pj *project, ms []MachineState, idx map[string]MachineState) bool {
	if len(ms) == 0 {
		return false
	}
	if len(pj.hosts) == 0 {
		for _, m := range ms {
			if m.State != "running" {
				return false
			}
		}
		return true
	}
	for _, h := range pj.hosts {
		if idx[h.Name].State != "running" {
			return false
		}
	}
	return true
}

// forgetFresh drops the known_hosts entries of machines `vagrant up`
// created: a machine whose id is new or changed is a new machine, and
// whatever known_hosts said about an older machine of that name is stale.
func (pj *project) forgetFresh(before map[string]string, after []MachineState) error {
	ids := pj.cli.machineIDs()
	var fresh []string
	for _, m := range after {
		if m.State != "running" {
			continue
		}
		if id, ok := ids[m.Name]; !ok || id != before[m.Name] {
			fresh = append(fresh, m.Name)
		}
	}
	return forgetHostKeys(filepath.Join(pj.dir, "known_hosts"), fresh)
}

// progressFunc turns Vagrant's ui records into per-machine lines.
// Environment-wide lines are attributed to "localhost", like the rest of
// plat's work on this machine; environment-wide error lines are skipped
// because the error-exit record repeats them and becomes the error.
func progressFunc(progress func(host, line string)) func(Record) {
	if progress == nil {
		return nil
	}
	return func(r Record) {
		host, lines := UILines(r)
		if host == "" {
			if r.Field(0) == "error" {
				return
			}
			host = "localhost"
		}
		for _, l := range lines {
			progress(host, l)
		}
	}
}

// Down stops the machines with `vagrant halt`, or with Destroy removes them
// with `vagrant destroy -f` and then plat's state for the environment (the
// generated Vagrantfile, keys, known_hosts). A user's Vagrantfile is never
// removed.
func (p *Provider) Down(ctx context.Context, req *platform.DownRequest) (*platform.DownResponse, error) {
	pj, err := p.project(req.Env, req.App, req.StateDir)
	if err != nil {
		return nil, err
	}
	if !pj.hasVagrantfile() {
		// Never brought up: nothing to stop.
		if req.Destroy {
			if err := os.RemoveAll(pj.dir); err != nil {
				return nil, fmt.Errorf("remove vagrant state %s: %w", pj.dir, err)
			}
		}
		return &platform.DownResponse{Machines: missingAll(pj.hosts, "no Vagrantfile yet")}, nil
	}
	args := []string{"halt"}
	if req.Destroy {
		args = []string{"destroy", "-f"}
	}
	args = append(args, pj.userNames()...)
	if _, err := pj.cli.run(ctx, progressFunc(req.Progress), args...); err != nil {
		return nil, fmt.Errorf("%s environment %s: %w", map[bool]string{false: "stop", true: "destroy"}[req.Destroy], pj.env.Name, err)
	}
	after, idx, err := pj.status(ctx)
	if err != nil {
		return nil, err
	}
	hosts, err := pj.machineHosts(after, nil)
	if err != nil {
		return nil, err
	}
	resp := &platform.DownResponse{Machines: machineStatuses(hosts, idx)}
	if req.Destroy {
		if err := os.RemoveAll(pj.dir); err != nil {
			return nil, fmt.Errorf("remove vagrant state %s: %w", pj.dir, err)
		}
	}
	return resp, nil
}

// Machines reports every machine from `vagrant status`, without
// connecting to them. A host the Vagrantfile lacks is "missing".
func (p *Provider) Machines(ctx context.Context, req *platform.TargetsRequest) ([]platform.MachineStatus, error) {
	pj, err := p.project(req.Env, req.App, req.StateDir)
	if err != nil {
		return nil, err
	}
	if !pj.hasVagrantfile() {
		hosts := pj.hosts
		if req.Hosts != nil {
			if hosts, err = pj.machineHosts(nil, req.Hosts); err != nil {
				return nil, err
			}
		}
		return missingAll(hosts, "no Vagrantfile yet (plat up creates it)"), nil
	}
	ms, idx, err := pj.status(ctx)
	if err != nil {
		return nil, err
	}
	hosts, err := pj.machineHosts(ms, req.Hosts)
	if err != nil {
		return nil, err
	}
	return machineStatuses(hosts, idx), nil
}

func machineStatuses(hosts []*platform.Host, idx map[string]MachineState) []platform.MachineStatus {
	out := make([]platform.MachineStatus, 0, len(hosts))
	for _, h := range hosts {
		m, ok := idx[h.Name]
		if !ok {
			out = append(out, platform.MachineStatus{Host: h.Name, State: "missing", Detail: "not in the Vagrantfile"})
			continue
		}
		out = append(out, m.toPlatform(h.Name))
	}
	return out
}

func missingAll(hosts []*platform.Host, detail string) []platform.MachineStatus {
	out := make([]platform.MachineStatus, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, platform.MachineStatus{Host: h.Name, State: "missing", Detail: detail})
	}
	return out
}

// Targets connects to every running machine over SSH, with what
// `vagrant ssh-config` says (address, port, user, key) and a known_hosts
// file plat keeps for the environment. A machine that is not running is an
// error naming it. See doc.go for why first-use trust is safe here.
func (p *Provider) Targets(ctx context.Context, req *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	pj, err := p.project(req.Env, req.App, req.StateDir)
	if err != nil {
		return nil, err
	}
	if !pj.hasVagrantfile() {
		hosts, err := pj.machineHosts(nil, req.Hosts)
		if err != nil {
			return nil, err
		}
		return nil, notRunning(pj.env.Name, hosts, nil)
	}
	// One vagrant run per push when all is well (Vagrant takes most of a
	// second to start): ssh-config, which fails for machines that are not
	// running; only then does status say which ones and why.
	var ms []MachineState
	if len(pj.hosts) == 0 {
		// The user's Vagrantfile names the machines.
		if ms, _, err = pj.status(ctx); err != nil {
			return nil, err
		}
	}
	hosts, err := pj.machineHosts(ms, req.Hosts)
	if err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		return &platform.TargetsResponse{}, nil
	}
	names := make([]string, 0, len(hosts))
	for _, h := range hosts {
		names = append(names, h.Name)
	}
	cfgs, err := pj.sshConfigs(ctx, names)
	if err != nil {
		_, idx, serr := pj.status(ctx)
		if serr != nil {
			return nil, errors.Join(err, serr)
		}
		if nr := notRunning(pj.env.Name, hosts, idx); nr != nil {
			return nil, nr
		}
		return nil, err
	}
	if err := os.MkdirAll(pj.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create vagrant state directory: %w", err)
	}
	knownHosts := filepath.Join(pj.dir, "known_hosts")
	sshConfigPath := filepath.Join(pj.dir, "ssh_config")
	if err := writeFileIfChanged(sshConfigPath, renderSSHConfig(cfgs, names, knownHosts), 0o600); err != nil {
		return nil, err
	}
	broughtUp, err := readBroughtUp(pj.dir)
	if err != nil {
		return nil, err
	}

	targets := make([]*platform.Target, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		sc := cfgs[h.Name]
		trust := ssh.TrustStrict
		if broughtUp[h.Name] || isLoopback(sc.HostName) {
			trust = ssh.TrustAcceptNew
		}
		spec := ssh.HostSpec{
			Alias:          h.Name,
			HostName:       sc.HostName,
			Port:           sc.Port,
			User:           sc.User,
			IdentityFiles:  sc.IdentityFiles,
			ConfigFile:     sshConfigPath,
			KnownHostsFile: knownHosts,
			Trust:          trust,
			AgentSocket:    "none",
			ConnectTimeout: connectTimeout,
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			targets[i], errs[i] = pj.target(ctx, h, sc, spec)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, t := range targets {
			if t != nil {
				t.Transport.Close()
			}
		}
		return nil, err
	}
	return &platform.TargetsResponse{Targets: targets}, nil
}

// notRunning names the hosts whose machine is not running (idx nil: none
// exists), or returns nil when all run.
func notRunning(env string, hosts []*platform.Host, idx map[string]MachineState) error {
	var problems []string
	for _, h := range hosts {
		m, ok := idx[h.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("host %s: no vagrant machine", h.Name))
		case m.State != "running":
			problems = append(problems, fmt.Sprintf("host %s: vagrant machine is %s, not running", h.Name, orDefault(m.Short, m.State)))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s (hint: run `plat up %s`)", strings.Join(problems, "; "), env)
}

func (pj *project) target(ctx context.Context, h *platform.Host, sc SSHConfig, spec ssh.HostSpec) (*platform.Target, error) {
	conn, err := ssh.Dial(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("host %s: connect over ssh: %w", h.Name, err)
	}
	t := platform.NewTarget(h)
	t.Address = net.JoinHostPort(sc.HostName, strconv.Itoa(orPort(sc.Port)))
	t.Transport = conn
	if t.DeployTo == "" {
		// An app without a name (hand-built): ResolveHosts had none to use.
		t.DeployTo = "/srv/app"
	}
	if err := prepareDeployTo(ctx, conn, t.DeployTo); err != nil {
		conn.Close()
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	return t, nil
}

// prepareDeployTo makes deploy_to exist and belong to the login user. The
// login user of a Vagrant machine ("vagrant") cannot create /srv/<app>
// itself but has passwordless sudo, as every Vagrant box does.
func prepareDeployTo(ctx context.Context, tr platform.Transport, dir string) error {
	var stderr bytes.Buffer
	err := tr.Run(ctx, &platform.Command{
		Args:   prepareDeployToArgs(dir),
		Stderr: &stderr,
	})
	if err != nil {
		if platform.ExitCode(err) > 0 {
			return fmt.Errorf("prepare deploy_to %s: %s (hint: make it writable by the SSH user, or give that user passwordless sudo)", dir, orDefault(strings.TrimSpace(stderr.String()), err.Error()))
		}
		return fmt.Errorf("prepare deploy_to %s: %w", dir, err)
	}
	return nil
}

// prepareDeployToArgs is the argv that creates dir for the login user; dir
// is passed as $1, never spliced into the script.
func prepareDeployToArgs(dir string) []string {
	const script = `test -d "$1" && test -w "$1" && exit 0
mkdir -p -- "$1" 2>/dev/null && test -w "$1" && exit 0
exec sudo -n install -d -o "$(id -un)" -g "$(id -gn)" -- "$1"`
	return []string{"sh", "-c", script, "plat-prepare", dir}
}

// sshConfigs runs `vagrant ssh-config` for the named machines.
func (pj *project) sshConfigs(ctx context.Context, names []string) (map[string]SSHConfig, error) {
	out, err := pj.cli.runRaw(ctx, nil, append([]string{"ssh-config"}, names...)...)
	if err != nil {
		return nil, fmt.Errorf("read ssh settings of environment %s: %w", pj.env.Name, err)
	}
	cfgs, err := ParseSSHConfig(bytes.NewReader(out))
	if err != nil {
		return nil, err
	}
	idx := make(map[string]SSHConfig, len(cfgs))
	for _, c := range cfgs {
		idx[c.Host] = c
	}
	for _, n := range names {
		c, ok := idx[n]
		if !ok {
			return nil, fmt.Errorf("host %s: vagrant ssh-config printed no entry for it", n)
		}
		if c.HostName == "" {
			return nil, fmt.Errorf("host %s: vagrant ssh-config gave no HostName", n)
		}
	}
	return idx, nil
}

// renderSSHConfig writes the ssh_config plat connects with: Vagrant's
// settings, plus plat's known_hosts and a HostKeyAlias so a machine's key
// is recorded under its name, not under a forwarded port another machine
// may get later. `ssh -F .plat/vagrant/ENV/ssh_config web1` works too.
func renderSSHConfig(cfgs map[string]SSHConfig, names []string, knownHosts string) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by plat from `vagrant ssh-config` on every push; do not edit.\n")
	for _, n := range names {
		c := cfgs[n]
		fmt.Fprintf(&b, "\nHost %s\n", n)
		fmt.Fprintf(&b, "  HostName %s\n", c.HostName)
		fmt.Fprintf(&b, "  Port %d\n", orPort(c.Port))
		if c.User != "" {
			fmt.Fprintf(&b, "  User %s\n", c.User)
		}
		for _, f := range c.IdentityFiles {
			fmt.Fprintf(&b, "  IdentityFile %s\n", sshQuote(f))
		}
		b.WriteString("  IdentitiesOnly yes\n")
		fmt.Fprintf(&b, "  HostKeyAlias %s\n", n)
		fmt.Fprintf(&b, "  UserKnownHostsFile %s\n", sshQuote(knownHosts))
		b.WriteString("  StrictHostKeyChecking accept-new\n")
	}
	return b.Bytes()
}

func sshQuote(s string) string {
	if !strings.ContainsAny(s, " \t\"\\") {
		return s
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func orPort(p int) int {
	if p == 0 {
		return 22
	}
	return p
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeFileIfChanged replaces path atomically when its content differs.
func writeFileIfChanged(path string, data []byte, mode fs.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := atomicfile.Write(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

var (
	_ platform.Provider        = (*Provider)(nil)
	_ platform.Provisioner     = (*Provider)(nil)
	_ platform.MachineStatuser = (*Provider)(nil)
)
