// Package swarm is plat's engine provider on Docker Swarm: a release
// becomes an image (built through the Engine API on the base image, never
// pulled, pushed to a registry when one is configured), each Procfile
// process type a replicated service, release tasks a replicated job, and
// the rollout the services' update config, so Swarm performs the rolling
// update and its automatic rollback. It implements platform.Scheduler and
// platform.Provisioner; an environment using it declares no hosts.
package swarm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/docker"
)

// Labels plat puts on what it creates (services, secrets, images,
// networks, volumes): never a value of a secret.
const (
	LabelManaged  = "plat.managed"
	LabelApp      = "plat.app"
	LabelEnv      = "plat.env"
	LabelProcess  = "plat.process"
	LabelRelease  = "plat.release"
	LabelGitSHA   = "plat.git_sha"
	LabelManifest = "plat.manifest_hash"
	LabelHistory  = "plat.history"
	// LabelDepth counts the release layers an image stacks on its base.
	LabelDepth = "plat.depth"
)

// DefaultPort is the PORT the web process listens on in its container
// (the health block's port, when it names one, wins).
const DefaultPort = platform.DefaultWebPort

// AppDir is where the release tree lives in the image.
const AppDir = "/app"

// Factory builds swarm providers.
type Factory struct{}

// Schema is the provider block's.
func (Factory) Schema() platform.Schema {
	return platform.Schema{Scheduled: true, Attributes: []platform.Attribute{
		{Name: "image", Type: platform.TypeString, Description: "base image of the release images (default " + docker.DefaultImage + "; never pulled)"},
		{Name: "registry", Type: platform.TypeString, Description: `registry the release images are pushed to, "HOST:PORT" (default: none, images stay on this daemon: a single-node swarm)`},
		{Name: "replicas", Type: platform.TypeStringMap, Description: "replicas per process type, e.g. { web = 3, worker = 1 } (default 1 each)"},
		{Name: "port", Type: platform.TypeNumber, Description: "port the web service is published on, on every node (default: one the engine picks)"},
		{Name: "publish_mode", Type: platform.TypeString, Description: `"ingress" (default: the routing mesh publishes port on every node) or "host" (each web task gets its own port on its node; for engines without IPVS)`},
		{Name: "docker_host", Type: platform.TypeString, Description: "address of a swarm manager's Docker daemon (default DOCKER_HOST or the local socket)"},
		{Name: "node_hosts", Type: platform.TypeStringMap, Description: `Docker daemon address per node name, e.g. { worker-2 = "tcp://10.0.0.12:2376" }: plat exec into a task on another node goes through that node's daemon`},
	}}
}

// New configures a provider.
func (Factory) New(cfg platform.ProviderConfig) (platform.Provider, error) {
	c := Config{
		Image:       cfg.String("image", docker.DefaultImage),
		Registry:    strings.TrimSuffix(cfg.String("registry", ""), "/"),
		Port:        cfg.Int("port", 0),
		DockerHost:  cfg.String("docker_host", ""),
		PublishMode: cfg.String("publish_mode", "ingress"),
		Replicas:    map[string]int{},
		NodeHosts:   map[string]string{},
	}
	switch v := cfg.Values["node_hosts"].(type) {
	case nil:
	case map[string]string:
		for k, x := range v {
			c.NodeHosts[k] = x
		}
	case map[string]any:
		for k, x := range v {
			c.NodeHosts[k] = fmt.Sprint(x)
		}
	default:
		return nil, fmt.Errorf("node_hosts: want a map of node name to Docker daemon address, got %T", v)
	}
	for k, v := range c.NodeHosts {
		if !strings.HasPrefix(v, "tcp://") && !strings.HasPrefix(v, "unix://") {
			return nil, fmt.Errorf("node_hosts.%s = %q: want a Docker daemon address, tcp://HOST:PORT or unix:///PATH", k, v)
		}
	}
	if c.DockerHost != "" {
		if _, err := client.ParseHostURL(c.DockerHost); err != nil {
			return nil, errors.New(cfg.At("docker_host", fmt.Sprintf("docker_host = %q: want an address like unix:///var/run/docker.sock or tcp://host:2375", c.DockerHost)))
		}
	}
	if c.PublishMode != "ingress" && c.PublishMode != "host" {
		return nil, fmt.Errorf(`publish_mode = %q: want "ingress" or "host"`, c.PublishMode)
	}
	if c.PublishMode == "host" && c.Port != 0 {
		return nil, fmt.Errorf(`port = %d with publish_mode = "host": every web task on a node would need that port; leave port unset (each task gets its own)`, c.Port)
	}
	if c.Port < 0 || c.Port > 65535 {
		return nil, fmt.Errorf("port = %d: not a TCP port", c.Port)
	}
	if c.Registry != "" && (strings.Contains(c.Registry, "://") || strings.Contains(c.Registry, "/")) {
		return nil, fmt.Errorf("registry = %q: give HOST:PORT (no scheme, no path)", c.Registry)
	}
	var raw map[string]string
	switch v := cfg.Values["replicas"].(type) {
	case nil:
	case map[string]string:
		raw = v
	case map[string]any:
		raw = map[string]string{}
		for k, x := range v {
			raw[k] = fmt.Sprint(x)
		}
	default:
		return nil, fmt.Errorf("replicas: want a map of process type to count, got %T", v)
	}
	for k, v := range raw {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("replicas.%s = %q: want a count (0 or more)", k, v)
		}
		c.Replicas[k] = n
	}
	return &Provider{cfg: c}, nil
}

// Config is a provider block.
type Config struct {
	Image      string
	Registry   string
	Replicas   map[string]int
	Port       int
	DockerHost string
	// PublishMode is "ingress" or "host".
	PublishMode string
	// NodeHosts are Docker daemon addresses by node name, for exec.
	NodeHosts map[string]string
}

// Provider deploys one environment to a swarm.
type Provider struct {
	cfg Config
}

// Targets refuses: a swarm environment has no hosts to run commands on.
func (p *Provider) Targets(context.Context, *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	return nil, errors.New("a swarm environment has no hosts: the engine places its processes (use plat status, plat logs and plat exec --role TYPE)")
}

// connect opens the daemon and checks it is a swarm manager.
func (p *Provider) connect(ctx context.Context) (*docker.Client, error) {
	c, err := docker.Connect(ctx, p.cfg.DockerHost)
	if err != nil {
		return nil, err
	}
	info, err := c.API().Info(ctx, client.InfoOptions{})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("docker info: %w", err)
	}
	if info.Info.Swarm.LocalNodeState != swarm.LocalNodeStateActive || !info.Info.Swarm.ControlAvailable {
		c.Close()
		state := string(info.Info.Swarm.LocalNodeState)
		if state == "" {
			state = "inactive"
		}
		if info.Info.Swarm.LocalNodeState == swarm.LocalNodeStateActive {
			state = "a worker"
		}
		return nil, fmt.Errorf("the Docker daemon at %s is not a swarm manager (swarm: %s): plat creates no swarm; make this node a manager with `docker swarm init --advertise-addr 127.0.0.1` (single node), or point docker_host at one", c.Host(), state)
	}
	return c, nil
}

// names of what plat creates for one environment.
type names struct {
	app, env string
}

func (n names) prefix() string { return sanitize("plat-" + n.app + "-" + n.env) }

// Service is the service of a process type.
func (n names) Service(process string) string { return n.prefix() + "-" + sanitize(process) }

// Network is the overlay network the services share.
func (n names) Network() string { return n.prefix() }

// Volume holds a linked dir.
func (n names) Volume(dir string) string {
	return n.prefix() + "-" + sanitize(strings.ReplaceAll(dir, "/", "-"))
}

// Repository is the release images' repository, before any registry.
func (n names) Repository() string { return "plat/" + strings.ToLower(sanitize(n.app)) }

// Tag of a release: images of one app's environments share the
// repository, so the tag names the environment too.
func (n names) Tag(release string) string { return strings.ToLower(sanitize(n.env)) + "-" + release }

func (n names) labels() map[string]string {
	return map[string]string{LabelManaged: "true", LabelApp: n.app, LabelEnv: n.env}
}

func (n names) filters() client.Filters {
	return client.Filters{}.Add("label", LabelManaged+"=true").Add("label", LabelApp+"="+n.app).Add("label", LabelEnv+"="+n.env)
}

func namesOf(app *platform.App, env *platform.Environment) names {
	return names{app: app.Name, env: env.Name}
}

// sanitize maps s onto the alphabet of service, network and secret names.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '.' || c == '-')
		if !ok {
			b[i] = '-'
		}
	}
	return string(b)
}

// replicas of a process type.
func (p *Provider) replicas(process string) int {
	if n, ok := p.cfg.Replicas[process]; ok {
		return n
	}
	return 1
}

// webPort is the PORT inside the web containers.
func webPort(h *platform.HealthCheck) int {
	if h != nil && h.Port > 0 {
		return h.Port
	}
	return DefaultPort
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

var (
	_ platform.Scheduler   = (*Provider)(nil)
	_ platform.Provisioner = (*Provider)(nil)
)
