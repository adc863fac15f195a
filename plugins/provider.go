package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins/internal/wire"
	pluginv1 "github.com/plat-sh/plat/plugins/proto"
)

// configureTimeout bounds Configure: ProviderFactory.New has no context.
const configureTimeout = time.Minute

// remoteFactory is a plugin as a platform.ProviderFactory.
type remoteFactory struct{ c *Client }

func (f *remoteFactory) Schema() platform.Schema { return f.c.schema }

// New configures a provider in the plugin. The returned value implements
// Provisioner, MachineStatuser and Scheduler exactly when the plugin's
// provider does.
func (f *remoteFactory) New(cfg platform.ProviderConfig) (platform.Provider, error) {
	c := f.c
	values, err := wire.ValuesToProto(cfg.Values)
	if err != nil {
		return nil, &Error{Plugin: c.name, Op: "configure", Err: err}
	}
	// New takes no context: the call lives as long as the client, bounded.
	ctx, cancel := context.WithTimeout(c.life, configureTimeout)
	defer cancel()
	resp, err := c.rpc.Configure(ctx, &pluginv1.ConfigureRequest{Type: cfg.Type, Values: values})
	if err != nil {
		return nil, c.fail(ctx, "configure", "", err)
	}
	base := &remoteProvider{c: c, id: resp.GetProviderId()}
	ab := wire.AbilitiesOf(resp.GetAbilities())
	prov, mach := ab[pluginv1.Ability_ABILITY_PROVISIONER], ab[pluginv1.Ability_ABILITY_MACHINES]
	if ab[pluginv1.Ability_ABILITY_SCHEDULER] {
		return schedulerProvider(base, prov, mach), nil
	}
	switch {
	case prov && mach:
		return &provisionerStatuserProvider{base, upDown{base}, machines{base}}, nil
	case prov:
		return &provisionerProvider{base, upDown{base}}, nil
	case mach:
		return &statuserProvider{base, machines{base}}, nil
	}
	return base, nil
}

// remoteProvider is a configured provider inside the plugin.
type remoteProvider struct {
	c  *Client
	id string
}

func (p *remoteProvider) Targets(ctx context.Context, req *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	// Unknown names are refused here, the same way for every provider,
	// before the plugin sees them.
	if _, err := platform.SelectHosts(req.Env, req.Hosts, ""); err != nil {
		return nil, err
	}
	cctx, cancel := callCtx(ctx)
	defer cancel()
	resp, err := p.c.rpc.Targets(cctx, &pluginv1.TargetsRequest{
		ProviderId: p.id, App: wire.AppToProto(req.App), Env: wire.EnvToProto(req.Env),
		StateDir: req.StateDir, Hosts: req.Hosts,
	})
	if err != nil {
		return nil, p.c.fail(ctx, "targets", "", err)
	}
	out := &platform.TargetsResponse{}
	for _, t := range resp.GetTargets() {
		pt := &platform.Target{
			Name: t.GetName(), Address: t.GetAddress(), Roles: t.GetRoles(), DeployTo: t.GetDeployTo(),
			Port: int(t.GetPort()), HealthAddr: t.GetHealthAddr(), PublicURL: t.GetPublicUrl(),
		}
		if t.GetTransportId() != "" {
			rt := &remoteTransport{c: p.c, id: t.GetTransportId(), target: t.GetName()}
			pt.Transport = rt
			if wire.AbilitiesOf(t.GetAbilities())[pluginv1.Ability_ABILITY_DIAL] {
				pt.Transport = &dialingTransport{rt}
			}
		}
		out.Targets = append(out.Targets, pt)
	}
	return out, nil
}

type upDown struct{ p *remoteProvider }

// progressStream is the common shape of Up's and Down's response streams.
type progressStream interface {
	GetProgress() *pluginv1.Progress
	GetDone() *pluginv1.MachineList
}

func drainProgress[T progressStream](recv func() (T, error), progress func(host, line string)) ([]platform.MachineStatus, error) {
	for {
		m, err := recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("plugin ended the call without a result")
			}
			return nil, err
		}
		if p := m.GetProgress(); p != nil {
			if progress != nil {
				progress(p.GetHost(), p.GetLine())
			}
			continue
		}
		if d := m.GetDone(); d != nil {
			return wire.MachinesFromProto(d.GetMachines()), nil
		}
	}
}

func (u upDown) Up(ctx context.Context, req *platform.UpRequest) (*platform.UpResponse, error) {
	c := u.p.c
	cctx, cancel := callCtx(ctx)
	defer cancel()
	stream, err := c.rpc.Up(cctx, &pluginv1.UpRequest{
		ProviderId: u.p.id, App: wire.AppToProto(req.App), Env: wire.EnvToProto(req.Env), StateDir: req.StateDir,
	})
	if err != nil {
		return nil, c.fail(ctx, "up", "", err)
	}
	ms, err := drainProgress(stream.Recv, req.Progress)
	if err != nil {
		return nil, c.fail(ctx, "up", "", err)
	}
	return &platform.UpResponse{Machines: ms}, nil
}

func (u upDown) Down(ctx context.Context, req *platform.DownRequest) (*platform.DownResponse, error) {
	c := u.p.c
	cctx, cancel := callCtx(ctx)
	defer cancel()
	stream, err := c.rpc.Down(cctx, &pluginv1.DownRequest{
		ProviderId: u.p.id, App: wire.AppToProto(req.App), Env: wire.EnvToProto(req.Env), StateDir: req.StateDir,
		Destroy: req.Destroy,
	})
	if err != nil {
		return nil, c.fail(ctx, "down", "", err)
	}
	ms, err := drainProgress(stream.Recv, req.Progress)
	if err != nil {
		return nil, c.fail(ctx, "down", "", err)
	}
	return &platform.DownResponse{Machines: ms}, nil
}

type machines struct{ p *remoteProvider }

func (m machines) Machines(ctx context.Context, req *platform.TargetsRequest) ([]platform.MachineStatus, error) {
	c := m.p.c
	cctx, cancel := callCtx(ctx)
	defer cancel()
	resp, err := c.rpc.Machines(cctx, &pluginv1.MachinesRequest{
		ProviderId: m.p.id, App: wire.AppToProto(req.App), Env: wire.EnvToProto(req.Env),
		StateDir: req.StateDir, Hosts: req.Hosts,
	})
	if err != nil {
		return nil, c.fail(ctx, "machines", "", err)
	}
	return wire.MachinesFromProto(resp.GetMachines()), nil
}

type provisionerProvider struct {
	*remoteProvider
	upDown
}

type statuserProvider struct {
	*remoteProvider
	machines
}

type provisionerStatuserProvider struct {
	*remoteProvider
	upDown
	machines
}

func (p *remoteProvider) String() string { return fmt.Sprintf("plugin %s provider %s", p.c.name, p.id) }

var (
	_ platform.ProviderFactory = (*remoteFactory)(nil)
	_ platform.Provider        = (*remoteProvider)(nil)
	_ platform.Provisioner     = (*provisionerProvider)(nil)
	_ platform.MachineStatuser = (*statuserProvider)(nil)
	_ platform.Provisioner     = (*provisionerStatuserProvider)(nil)
	_ platform.MachineStatuser = (*provisionerStatuserProvider)(nil)
)
