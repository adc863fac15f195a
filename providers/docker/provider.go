package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/filelock"
)

// Factory makes docker providers; cmd/plat registers it as "docker".
type Factory struct{}

// Schema is the provider "docker" block.
func (Factory) Schema() platform.Schema {
	return platform.Schema{Attributes: []platform.Attribute{
		{Name: "image", Type: platform.TypeString, Description: "image of every host's container (default " + DefaultImage + "; never pulled)"},
		{Name: "network", Type: platform.TypeString, Description: "network the containers share (default plat-<app>-<env>; created if missing)"},
		{Name: "publish", Type: platform.TypeBool, Description: "publish each host's web port on 127.0.0.1, on a random host port (default true)"},
		{Name: "docker_host", Type: platform.TypeString, Description: "Docker daemon address (default DOCKER_HOST or the local socket)"},
		{Name: "env", Type: platform.TypeStringMap, Description: "environment of the containers"},
	}, Hosts: &platform.HostDefaults{}}
}

// New configures a provider from a provider block's values.
func (Factory) New(cfg platform.ProviderConfig) (platform.Provider, error) {
	c := Config{
		Image:      cfg.String("image", DefaultImage),
		Network:    cfg.String("network", ""),
		Publish:    cfg.Bool("publish", true),
		DockerHost: cfg.String("docker_host", ""),
	}
	switch env := cfg.Values["env"].(type) {
	case nil:
	case map[string]string:
		c.Env = env
	case map[string]any:
		c.Env = map[string]string{}
		for k, v := range env {
			s, ok := v.(string)
			if !ok {
				return nil, errors.New(cfg.At("env", fmt.Sprintf("provider docker: env.%s is a %T, want a string", k, v)))
			}
			c.Env[k] = s
		}
	default:
		return nil, errors.New(cfg.At("env", fmt.Sprintf("provider docker: env is a %T, want a map of strings", env)))
	}
	if c.DockerHost != "" {
		if _, err := client.ParseHostURL(c.DockerHost); err != nil {
			return nil, errors.New(cfg.At("docker_host", fmt.Sprintf("provider docker: docker_host %q: want an address like unix:///var/run/docker.sock or tcp://host:2375", c.DockerHost)))
		}
	}
	return New(c), nil
}

// Config is a docker provider's configuration.
type Config struct {
	// Image of every container; "" means DefaultImage.
	Image string
	// Network is the environment's network; "" means plat-<app>-<env>.
	Network string
	// Publish each host's web port on 127.0.0.1 (random host port).
	Publish bool
	// DockerHost is the daemon address; "" means DOCKER_HOST or the default.
	DockerHost string
	// Env is the containers' environment.
	Env map[string]string
}

// Provider runs an environment's hosts as containers on one Docker daemon.
// It implements platform.Provider, platform.Provisioner and
// platform.MachineStatuser.
type Provider struct {
	cfg Config
}

// New returns a provider; it does not contact the daemon.
func New(cfg Config) *Provider {
	if cfg.Image == "" {
		cfg.Image = DefaultImage
	}
	return &Provider{cfg: cfg}
}

// Connect opens a client to the provider's daemon (the CLI uses it for
// `plat image build-base` against the environment's docker_host).
func (p *Provider) Connect(ctx context.Context) (*Client, error) {
	return Connect(ctx, p.cfg.DockerHost)
}

func (p *Provider) network(app, env string) string {
	if p.cfg.Network != "" {
		return p.cfg.Network
	}
	return NetworkName(app, env)
}

// selectHosts returns env's hosts, limited to names when it is not nil,
// in the environment's order.
func selectHosts(env *platform.Environment, names []string) ([]*platform.Host, error) {
	if len(env.Hosts()) == 0 {
		return nil, fmt.Errorf("environment %s has no hosts: declare a cluster", env.Name)
	}
	return platform.SelectHosts(env, names, "")
}

// containers lists the environment's containers (running or not) by label,
// keyed by host name.
func (p *Provider) containers(ctx context.Context, c *Client, app, env string) (map[string]container.Summary, error) {
	f := client.Filters{}
	for k, v := range envLabels(app, env) {
		f.Add("label", k+"="+v)
	}
	res, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, c.wrap(err, "list containers of %s/%s", app, env)
	}
	out := map[string]container.Summary{}
	for _, s := range res.Items {
		out[s.Labels[LabelHost]] = s
	}
	return out, nil
}

// wrap turns an API error into a user-facing one.
func (c *Client) wrap(err error, format string, args ...any) error {
	if client.IsErrConnectionFailed(err) {
		return c.unreachable(err)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// stateOf maps Docker's container states onto plat's machine states.
func stateOf(s container.ContainerState) string {
	switch s {
	case container.StateRunning:
		return "running"
	case container.StateCreated, container.StateExited, container.StateDead:
		return "stopped"
	default: // paused, restarting, removing
		return string(s)
	}
}

// containerIP is the container's address on the environment's network (or
// on any network when it is not attached to that one).
func containerIP(s container.Summary, netName string) string {
	if s.NetworkSettings == nil {
		return ""
	}
	if ep := s.NetworkSettings.Networks[netName]; ep != nil && ep.IPAddress.IsValid() {
		return ep.IPAddress.String()
	}
	names := make([]string, 0, len(s.NetworkSettings.Networks))
	for n := range s.NetworkSettings.Networks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if ep := s.NetworkSettings.Networks[n]; ep != nil && ep.IPAddress.IsValid() {
			return ep.IPAddress.String()
		}
	}
	return ""
}

// publishedURL is http://127.0.0.1:<host port> for the container's port,
// or "" when it is not published.
func publishedURL(s container.Summary, port int) string {
	for _, ps := range s.Ports {
		if int(ps.PrivatePort) == port && ps.PublicPort != 0 && ps.Type == "tcp" {
			ip := "127.0.0.1"
			if ps.IP.IsValid() && !ps.IP.IsUnspecified() {
				ip = ps.IP.String()
			}
			return "http://" + netip.AddrPortFrom(netip.MustParseAddr(ip), ps.PublicPort).String()
		}
	}
	return ""
}

func machineStatus(s container.Summary, port int) platform.MachineStatus {
	name := strings.TrimPrefix(firstName(s), "/")
	detail := name + " " + shortID(s.ID)
	if s.State == container.StateRunning {
		if u := publishedURL(s, port); u != "" {
			detail += " " + u
		}
	}
	return platform.MachineStatus{Host: s.Labels[LabelHost], State: stateOf(s.State), Detail: detail}
}

func firstName(s container.Summary) string {
	if len(s.Names) > 0 {
		return s.Names[0]
	}
	return shortID(s.ID)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Machines reports running/stopped/missing per host, without connecting
// to the containers.
func (p *Provider) Machines(ctx context.Context, req *platform.TargetsRequest) ([]platform.MachineStatus, error) {
	hosts, err := selectHosts(req.Env, req.Hosts)
	if err != nil {
		return nil, err
	}
	c, err := p.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return p.machines(ctx, c, req.App, req.Env, hosts)
}

func (p *Provider) machines(ctx context.Context, c *Client, app *platform.App, env *platform.Environment, hosts []*platform.Host) ([]platform.MachineStatus, error) {
	ctrs, err := p.containers(ctx, c, app.Name, env.Name)
	if err != nil {
		return nil, err
	}
	out := make([]platform.MachineStatus, 0, len(hosts))
	for _, h := range hosts {
		s, ok := ctrs[h.Name]
		if !ok {
			out = append(out, platform.MachineStatus{Host: h.Name, State: "missing",
				Detail: ContainerName(app.Name, env.Name, h.Name)})
			continue
		}
		out = append(out, machineStatus(s, h.Port))
	}
	return out, nil
}

// Targets returns one target per host, each with a Transport that runs
// commands in the host's container. A missing or stopped container is an
// error naming the host and `plat up`.
func (p *Provider) Targets(ctx context.Context, req *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	hosts, err := selectHosts(req.Env, req.Hosts)
	if err != nil {
		return nil, err
	}
	c, err := p.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ctrs, err := p.containers(ctx, c, req.App.Name, req.Env.Name)
	if err != nil {
		c.Close()
		return nil, err
	}
	netName := p.network(req.App.Name, req.Env.Name)
	var errs []error
	shared := &sharedClient{c: c}
	resp := &platform.TargetsResponse{}
	for _, h := range hosts {
		name := ContainerName(req.App.Name, req.Env.Name, h.Name)
		s, ok := ctrs[h.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("host %s: container %s is missing: run `plat up %s` to create it", h.Name, name, req.Env.Name))
			continue
		case s.State != container.StateRunning:
			errs = append(errs, fmt.Errorf("host %s: container %s is %s: run `plat up %s` to start it", h.Name, name, s.State, req.Env.Name))
			continue
		}
		ip := containerIP(s, netName)
		t := platform.NewTarget(h)
		t.Address = ip
		t.PublicURL = publishedURL(s, h.Port)
		t.Transport = newTransport(shared, s.ID, name, req.Env.Name, h.Name, ip)
		// The web process is reached on the container's address.
		t.HealthAddr = ""
		if ip != "" {
			t.HealthAddr = netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(h.Port)).String()
		}
		resp.Targets = append(resp.Targets, t)
	}
	if len(errs) > 0 {
		for _, t := range resp.Targets {
			t.Transport.Close()
		}
		c.Close()
		return nil, errors.Join(errs...)
	}
	if len(resp.Targets) == 0 {
		c.Close()
	}
	return resp, nil
}

// Up creates the network and one container per host, starts stopped
// containers and recreates removed ones; running containers are left
// alone, so Up is idempotent.
func (p *Provider) Up(ctx context.Context, req *platform.UpRequest) (*platform.UpResponse, error) {
	hosts, err := selectHosts(req.Env, nil)
	if err != nil {
		return nil, err
	}
	progress := req.Progress
	if progress == nil {
		progress = func(string, string) {}
	}
	c, err := p.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	app, env := req.App.Name, req.Env.Name
	unlock, err := lockUp(ctx, c.host, app, env)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := c.checkImage(ctx, p.cfg.Image); err != nil {
		return nil, err
	}
	netName := p.network(app, env)
	netID, err := p.ensureNetwork(ctx, c, app, env, netName)
	if err != nil {
		return nil, err
	}
	ctrs, err := p.containers(ctx, c, app, env)
	if err != nil {
		return nil, err
	}
	init, err := c.hasInit(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range hosts {
		name := ContainerName(app, env, h.Name)
		s, ok := ctrs[h.Name]
		if ok && !onNetwork(s, netID) {
			// The network was removed and made again behind plat's back:
			// the container cannot start on the old one.
			progress(h.Name, "recreating container "+name+" (its network is gone)")
			if _, err := c.api.ContainerRemove(ctx, s.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				return nil, c.wrap(err, "host %s: remove container %s", h.Name, name)
			}
			ok = false
		}
		id := s.ID
		if !ok {
			progress(h.Name, "creating container "+name)
			spec := p.containerSpec(req.App, req.Env, h, netID, init)
			res, err := c.api.ContainerCreate(ctx, spec)
			switch {
			case cerrdefs.IsConflict(err):
				// Another `plat up` may have just made it; anything else
				// with that name is not plat's to touch.
				id, err = c.ownContainer(ctx, name, spec.Config.Labels)
				if err != nil {
					return nil, fmt.Errorf("host %s: %w", h.Name, err)
				}
			case err != nil:
				return nil, c.wrap(err, "host %s: create container %s", h.Name, name)
			default:
				id = res.ID
			}
		} else if s.Image != p.cfg.Image {
			progress(h.Name, fmt.Sprintf("container %s runs image %s, not %s: `plat down %s --destroy` then `plat up %s` to recreate it", name, s.Image, p.cfg.Image, env, env))
		}
		if !ok || s.State != container.StateRunning {
			if ok && s.State == container.StatePaused {
				if _, err := c.api.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{}); err != nil {
					return nil, c.wrap(err, "host %s: unpause container %s", h.Name, name)
				}
			} else {
				progress(h.Name, "starting container "+name)
				if err := c.start(ctx, id); err != nil {
					return nil, c.wrap(err, "host %s: start container %s", h.Name, name)
				}
			}
		}
	}
	ms, err := p.machines(ctx, c, req.App, req.Env, hosts)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		progress(m.Host, m.State+": "+m.Detail)
	}
	return &platform.UpResponse{Machines: ms}, nil
}

// start starts a container. The daemon finds its network by name, which is
// ambiguous for the moment a concurrent Up needs to remove the duplicate it
// created (see ensureNetwork): that error is retried for a few seconds.
func (c *Client) start(ctx context.Context, id string) error {
	for i := 0; ; i++ {
		_, err := c.api.ContainerStart(ctx, id, client.ContainerStartOptions{})
		if err == nil || i == 50 || !strings.Contains(err.Error(), "is ambiguous") {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ownContainer returns the id of the container called name when it carries
// the given plat labels, and an error naming the fix when it does not.
func (c *Client) ownContainer(ctx context.Context, name string, labels map[string]string) (string, error) {
	res, err := c.api.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return "", c.wrap(err, "inspect container %s", name)
	}
	for _, k := range []string{LabelManaged, LabelApp, LabelEnv, LabelHost} {
		if res.Container.Config == nil || res.Container.Config.Labels[k] != labels[k] {
			return "", fmt.Errorf("a container named %s exists but plat did not create it for this host: remove or rename it (docker rm -f %s)", name, name)
		}
	}
	return res.Container.ID, nil
}

// onNetwork reports whether container s is attached to network netID.
func onNetwork(s container.Summary, netID string) bool {
	if s.NetworkSettings == nil {
		return false
	}
	for _, ep := range s.NetworkSettings.Networks {
		if ep != nil && ep.NetworkID == netID {
			return true
		}
	}
	return false
}

// initCmd keeps a container running: PID 1 is docker-init when the daemon
// has it, which reaps the orphans plat's process supervisor leaves;
// otherwise a shell that sleeps and exits on TERM so `docker stop` is quick.
func initCmd(init bool) []string {
	if init {
		return []string{"sleep", "infinity"}
	}
	return []string{"sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"}
}

// containerSpec is the container of one host (a pure function). netRef is
// the network's id (a name can be ambiguous on old daemons).
func (p *Provider) containerSpec(app *platform.App, env *platform.Environment, h *platform.Host, netRef string, init bool) client.ContainerCreateOptions {
	port := network.MustParsePort(strconv.Itoa(h.Port) + "/tcp")
	stop := 5
	cfg := &container.Config{
		Hostname:     h.Name,
		Image:        p.cfg.Image,
		Cmd:          initCmd(init),
		Env:          envList(p.cfg.Env),
		Labels:       hostLabels(app.Name, env.Name, h),
		ExposedPorts: network.PortSet{port: {}},
		StopTimeout:  &stop,
	}
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(netRef),
	}
	if init {
		hc.Init = &init
	}
	if p.cfg.Publish {
		hc.PortBindings = network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1")}}}
	}
	return client.ContainerCreateOptions{
		Name:       ContainerName(app.Name, env.Name, h.Name),
		Config:     cfg,
		HostConfig: hc,
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			netRef: {Aliases: []string{h.Name}},
		}},
	}
}

// hasInit reports whether the daemon can run docker-init as PID 1.
func (c *Client) hasInit(ctx context.Context) (bool, error) {
	res, err := c.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return false, c.wrap(err, "query the Docker daemon")
	}
	return res.Info.InitBinary != "" && res.Info.InitCommit.ID != "N/A", nil
}

// ensureNetwork returns the id of network name, creating it (labelled, so
// Down --destroy removes it) when it does not exist.
//
// Daemons let two concurrent creates of one name both succeed (API 1.44
// deprecated CheckDuplicate, and its check was never atomic), and which
// network a racer sees first depends on timing. Up holds lockUp, so racers
// on this machine take turns; racers on other machines are caught by
// looking again after the create: each keeps the oldest network of that
// name and removes its own if it lost.
func (p *Provider) ensureNetwork(ctx context.Context, c *Client, app, env, name string) (string, error) {
	nets, err := c.networksNamed(ctx, name)
	if err != nil {
		return "", err
	}
	if len(nets) > 0 {
		return nets[0].ID, nil
	}
	created, err := c.api.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver: "bridge",
		Labels: envLabels(app, env),
	})
	if err != nil && !cerrdefs.IsConflict(err) {
		return "", c.wrap(err, "create network %s", name)
	}
	if nets, err = c.networksNamed(ctx, name); err != nil {
		return "", err
	}
	if len(nets) == 0 {
		return "", fmt.Errorf("create network %s: it vanished right after creation", name)
	}
	if mine := created.ID; mine != "" && nets[0].ID != mine {
		if _, err := c.api.NetworkRemove(ctx, mine, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return "", c.wrap(err, "remove duplicate network %s", name)
		}
	}
	return nets[0].ID, nil
}

// lockUp takes this machine's lock on bringing app's env up on the daemon
// at host: two `plat up` at once would otherwise both create its network
// (see ensureNetwork) and race on each container's name, where the loser
// sees a conflict for a container the daemon cannot inspect yet.
func lockUp(ctx context.Context, host, app, env string) (func(), error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	sum := sha256.Sum256([]byte(host + "\x00" + app + "\x00" + env))
	path := filepath.Join(dir, "plat", "docker", "up-"+hex.EncodeToString(sum[:8])+".lock")
	unlock, err := filelock.Lock(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("wait for another plat up of %s %s: %w", app, env, err)
	}
	return unlock, nil
}

// networksNamed lists the networks called exactly name, oldest first.
func (c *Client) networksNamed(ctx context.Context, name string) ([]network.Summary, error) {
	res, err := c.api.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", name)})
	if err != nil {
		return nil, c.wrap(err, "list networks")
	}
	var out []network.Summary
	for _, n := range res.Items {
		if n.Name == name { // the filter matches substrings
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Down stops the environment's containers; with Destroy it removes them
// (including containers of hosts no longer declared) and the networks plat
// created for the environment. Down of an environment that has nothing is
// not an error.
func (p *Provider) Down(ctx context.Context, req *platform.DownRequest) (*platform.DownResponse, error) {
	hosts, err := selectHosts(req.Env, nil)
	if err != nil {
		return nil, err
	}
	progress := req.Progress
	if progress == nil {
		progress = func(string, string) {}
	}
	c, err := p.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	app, env := req.App.Name, req.Env.Name
	ctrs, err := p.containers(ctx, c, app, env)
	if err != nil {
		return nil, err
	}
	for _, host := range sortedKeys(ctrs) {
		s := ctrs[host]
		name := strings.TrimPrefix(firstName(s), "/")
		if req.Destroy {
			progress(host, "removing container "+name)
			if _, err := c.api.ContainerRemove(ctx, s.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
				return nil, c.wrap(err, "host %s: remove container %s", host, name)
			}
			continue
		}
		if s.State == container.StateRunning || s.State == container.StatePaused || s.State == container.StateRestarting {
			progress(host, "stopping container "+name)
			if _, err := c.api.ContainerStop(ctx, s.ID, client.ContainerStopOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
				return nil, c.wrap(err, "host %s: stop container %s", host, name)
			}
		}
	}
	if req.Destroy {
		if err := removeNetworks(ctx, c, app, env); err != nil {
			return nil, err
		}
	}
	ms, err := p.machines(ctx, c, req.App, req.Env, hosts)
	if err != nil {
		return nil, err
	}
	return &platform.DownResponse{Machines: ms}, nil
}

// removeNetworks removes the networks labelled for app/env (a network the
// user named and created himself carries no labels and stays).
func removeNetworks(ctx context.Context, c *Client, app, env string) error {
	f := client.Filters{}
	for k, v := range envLabels(app, env) {
		f.Add("label", k+"="+v)
	}
	nets, err := c.api.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return c.wrap(err, "list networks of %s/%s", app, env)
	}
	for _, n := range nets.Items {
		// Endpoints of just-removed containers can linger for a moment.
		var err error
		for i := 0; i < 20; i++ {
			_, err = c.api.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
			if err == nil || cerrdefs.IsNotFound(err) {
				err = nil
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("remove network %s: %w", n.Name, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
		if err != nil {
			return c.wrap(err, "remove network %s", n.Name)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Interface guards.
var (
	_ platform.ProviderFactory = Factory{}
	_ platform.Provider        = (*Provider)(nil)
	_ platform.Provisioner     = (*Provider)(nil)
	_ platform.MachineStatuser = (*Provider)(nil)
)
