package dirs

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/plat-sh/plat/platform"
)

// Version of the example plugin.
const Version = "v0.1.0"

// Factory builds dirs providers.
type Factory struct{}

// Schema is the provider block:
//
//	provider "dirs" {
//	  root        = "/srv/plat-dirs"     # required, absolute
//	  via         = "deploy@box.example" # optional: reach root through ssh
//	  ssh_options = ["-p", "2222"]       # optional: extra ssh arguments
//	  base_port   = 8000                 # optional: host i gets base_port+i
//	}
func (Factory) Schema() platform.Schema {
	return platform.Schema{Attributes: []platform.Attribute{
		{Name: "root", Type: platform.TypeString, Required: true, Description: "absolute directory holding one directory per host"},
		{Name: "via", Type: platform.TypeString, Description: "user@host: reach root with ssh instead of locally"},
		{Name: "ssh_options", Type: platform.TypeStringList, Description: "extra arguments for ssh (before the destination)"},
		{Name: "base_port", Type: platform.TypeNumber, Description: "PORT of the first host; the next hosts count up (default 8000)"},
	}, Hosts: &platform.HostDefaults{PortBase: "base_port", PortBaseDefault: 8000}}
}

// Version is reported to `plat plugins list`.
func (Factory) Version() string { return Version }

// New configures a provider.
func (Factory) New(cfg platform.ProviderConfig) (platform.Provider, error) {
	root := cfg.String("root", "")
	if root == "" || !path.IsAbs(root) {
		return nil, fmt.Errorf("provider dirs: root = %q must be an absolute path", root)
	}
	p := &Provider{
		root:    path.Clean(root),
		via:     cfg.String("via", ""),
		sshOpts: cfg.Strings("ssh_options"),
	}
	if strings.HasPrefix(p.via, "-") {
		return nil, fmt.Errorf("provider dirs: via = %q is not a destination", p.via)
	}
	return p, nil
}

// Provider turns hosts into directories.
type Provider struct {
	root    string
	via     string
	sshOpts []string
}

// host is one selected host with its directory.
type host struct {
	*platform.Host
	dir string
}

func (p *Provider) hosts(env *platform.Environment, only []string) ([]host, error) {
	if env == nil {
		return nil, fmt.Errorf("provider dirs: no environment")
	}
	hs, err := platform.SelectHosts(env, only, "")
	if err != nil {
		return nil, err
	}
	var out []host
	for _, h := range hs {
		if h.Name == "" || h.Name == "." || h.Name == ".." || strings.ContainsAny(h.Name, "/\x00") {
			return nil, fmt.Errorf("provider dirs: host name %q cannot be a directory name", h.Name)
		}
		out = append(out, host{Host: h, dir: path.Join(p.root, h.Name)})
	}
	return out, nil
}

// exists reports whether dir exists on the machine.
func (p *Provider) exists(ctx context.Context, dir string) (bool, error) {
	if p.via == "" {
		fi, err := os.Stat(dir)
		if os.IsNotExist(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return fi.IsDir(), nil
	}
	err := p.transport("", "/").Run(ctx, &platform.Command{Args: []string{"test", "-d", dir}})
	if platform.ExitCode(err) == 1 {
		return false, nil
	}
	return err == nil, err
}

func (p *Provider) transport(name, dir string) platform.Transport {
	if p.via == "" {
		return &localTransport{dir: dir}
	}
	return &sshTransport{dir: dir, via: p.via, opts: p.sshOpts}
}

// Targets returns one target per host; a missing directory is an error
// naming the host.
func (p *Provider) Targets(ctx context.Context, req *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	hs, err := p.hosts(req.Env, req.Hosts)
	if err != nil {
		return nil, err
	}
	resp := &platform.TargetsResponse{}
	for _, h := range hs {
		ok, err := p.exists(ctx, h.dir)
		if err != nil {
			return nil, fmt.Errorf("host %s: check directory %s: %w", h.Name, h.dir, err)
		}
		if !ok {
			return nil, fmt.Errorf("host %s: directory %s does not exist\nhint: plat up %s creates it", h.Name, h.dir, req.Env.Name)
		}
		// The sdk resolved the host's port from base_port (Schema.Hosts).
		t := platform.NewTarget(h.Host)
		t.Address = "localhost"
		t.DeployTo = p.deployTo(req.Env, h)
		t.Transport = p.transport(h.Name, h.dir)
		if p.via != "" {
			t.Address = viaHost(p.via)
			t.HealthAddr = t.Address + ":" + strconv.Itoa(t.Port)
		}
		resp.Targets = append(resp.Targets, t)
	}
	return resp, nil
}

// deployTo: the host's, else the environment's, else <dir>/app; a relative
// one is under the host's directory.
func (p *Provider) deployTo(env *platform.Environment, h host) string {
	d := h.DeployTo
	if d == "" {
		d = env.DeployTo
	}
	if d == "" {
		d = "app"
	}
	if !path.IsAbs(d) {
		d = path.Join(h.dir, d)
	}
	return d
}

func viaHost(via string) string {
	h := via
	if i := strings.LastIndex(h, "@"); i >= 0 {
		h = h[i+1:]
	}
	return h
}

// Up creates every host's directory. Idempotent.
func (p *Provider) Up(ctx context.Context, req *platform.UpRequest) (*platform.UpResponse, error) {
	hs, err := p.hosts(req.Env, nil)
	if err != nil {
		return nil, err
	}
	resp := &platform.UpResponse{}
	for _, h := range hs {
		ok, err := p.exists(ctx, h.dir)
		if err != nil {
			return nil, fmt.Errorf("host %s: check directory %s: %w", h.Name, h.dir, err)
		}
		if !ok {
			if err := p.transport(h.Name, "/").Run(ctx, &platform.Command{Args: []string{"mkdir", "-p", "--", h.dir}}); err != nil {
				return nil, fmt.Errorf("host %s: create directory %s: %w", h.Name, h.dir, err)
			}
			progress(req.Progress, h.Name, "created "+h.dir)
		}
		resp.Machines = append(resp.Machines, platform.MachineStatus{Host: h.Name, State: "running", Detail: h.dir})
	}
	return resp, nil
}

// Down has nothing to stop; with Destroy it removes the directories.
// Idempotent.
func (p *Provider) Down(ctx context.Context, req *platform.DownRequest) (*platform.DownResponse, error) {
	hs, err := p.hosts(req.Env, nil)
	if err != nil {
		return nil, err
	}
	resp := &platform.DownResponse{}
	for _, h := range hs {
		state := "running"
		if req.Destroy {
			if err := p.transport(h.Name, "/").Run(ctx, &platform.Command{Args: []string{"rm", "-rf", "--", h.dir}}); err != nil {
				return nil, fmt.Errorf("host %s: remove directory %s: %w", h.Name, h.dir, err)
			}
			progress(req.Progress, h.Name, "removed "+h.dir)
			state = "missing"
		}
		resp.Machines = append(resp.Machines, platform.MachineStatus{Host: h.Name, State: state, Detail: h.dir})
	}
	return resp, nil
}

// Machines reports "running" for an existing directory, else "missing".
func (p *Provider) Machines(ctx context.Context, req *platform.TargetsRequest) ([]platform.MachineStatus, error) {
	hs, err := p.hosts(req.Env, req.Hosts)
	if err != nil {
		return nil, err
	}
	var out []platform.MachineStatus
	for _, h := range hs {
		ok, err := p.exists(ctx, h.dir)
		if err != nil {
			return nil, fmt.Errorf("host %s: check directory %s: %w", h.Name, h.dir, err)
		}
		state := "missing"
		if ok {
			state = "running"
		}
		out = append(out, platform.MachineStatus{Host: h.Name, State: state, Detail: h.dir})
	}
	return out, nil
}

func progress(f func(host, line string), host, line string) {
	if f != nil {
		f(host, line)
	}
}

var (
	_ platform.ProviderFactory = Factory{}
	_ platform.Provider        = (*Provider)(nil)
	_ platform.Provisioner     = (*Provider)(nil)
	_ platform.MachineStatuser = (*Provider)(nil)
)
