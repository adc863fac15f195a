package platformtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/plat-sh/plat/platform"
)

// ProviderHarness is what the provider suite needs: a factory, the
// provider block's values and an environment to turn into targets.
//
// The suite provisions when the provider is a Provisioner: it runs Up
// (twice), the checks, then Down with Destroy (twice). Use a throwaway
// environment. Without Provisioner, the environment's machines must exist.
type ProviderHarness struct {
	Factory platform.ProviderFactory
	Config  platform.ProviderConfig
	// Env needs at least one host; two or more exercise the host filter
	// and the host order. The suite resolves its hosts as the loader does
	// (platform.ResolveHosts with the factory's HostDefaults and Config),
	// so it may be hand-built with only names.
	Env *platform.Environment
	// App defaults to an app named "conformance".
	App *platform.App
	// StateDir is the .plat directory given to the provider; "" makes a
	// temporary one, removed by the last check.
	StateDir string
}

// TestProvider runs the provider suite (ProviderChecks) as subtests.
func TestProvider(t *testing.T, h ProviderHarness) {
	t.Helper()
	RunTests(t, ProviderChecks(h))
}

// providerRun is the state the provider checks share, in order.
type providerRun struct {
	h        ProviderHarness
	app      *platform.App
	prov     platform.Provider
	stateDir string
	tmpState bool
	mu       sync.Mutex
}

// ProviderChecks is the provider conformance suite: the schema is sound
// and accepts the config, New works, Up is idempotent (Provisioner),
// Machines lists every host (MachineStatuser), Targets returns the declared
// hosts in order with transports, honours the host filter (still in the
// environment's order) and refuses an unknown host with a "did you mean",
// every target's transport passes the Transport checks, Down is idempotent
// and afterwards Targets reports the missing host (Provisioner). Checks
// run in order; a check whose prerequisite failed is skipped.
func ProviderChecks(h ProviderHarness) []Check {
	r := &providerRun{h: h, app: h.App, stateDir: h.StateDir}
	if r.app == nil {
		r.app = &platform.App{Name: "conformance"}
	}
	checks := []Check{
		{"schema", r.checkSchema},
		{"new", r.checkNew},
		{"up", r.checkUp},
		{"up is idempotent", r.checkUp},
		{"machines", r.checkMachines},
		{"targets", r.checkTargets},
		{"targets host filter", r.checkFilter},
		{"targets come in the environment's order", r.checkOrder},
		{"targets refuse an unknown host", r.checkUnknownHost},
	}
	for i, c := range TransportChecks(TransportSource{}) {
		checks = append(checks, Check{Name: "transport/" + c.Name, Run: r.transportCheck(i)})
	}
	checks = append(checks,
		Check{"down", r.checkDown},
		Check{"down is idempotent", r.checkDown},
		Check{"targets after destroy name the missing host", r.checkAfterDestroy},
		Check{"cleanup", r.cleanup},
	)
	return checks
}

func (r *providerRun) env() *platform.Environment { return r.h.Env }

func (r *providerRun) hostNames() []string {
	var out []string
	for _, h := range r.env().Hosts() {
		out = append(out, h.Name)
	}
	return out
}

func (r *providerRun) provider() (platform.Provider, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prov == nil {
		return nil, Skipf("no provider (new failed)")
	}
	return r.prov, nil
}

func (r *providerRun) checkSchema(context.Context) error {
	if r.h.Factory == nil {
		return errors.New("harness has no Factory")
	}
	if r.env() == nil || len(r.env().Hosts()) == 0 {
		return errors.New("harness environment has no hosts")
	}
	var problems []error
	seen := map[string]bool{}
	for _, a := range r.h.Factory.Schema().Attributes {
		if a.Name == "" {
			problems = append(problems, errors.New("an attribute has no name"))
		}
		if seen[a.Name] {
			problems = append(problems, fmt.Errorf("attribute %q is declared twice", a.Name))
		}
		seen[a.Name] = true
		switch a.Type {
		case platform.TypeString, platform.TypeNumber, platform.TypeBool, platform.TypeStringList, platform.TypeStringMap, platform.TypeDuration:
		default:
			problems = append(problems, fmt.Errorf("attribute %q has unknown type %q", a.Name, a.Type))
		}
		if _, ok := r.h.Config.Values[a.Name]; a.Required && !ok {
			problems = append(problems, fmt.Errorf("required attribute %q is missing from the test config", a.Name))
		}
	}
	for k := range r.h.Config.Values {
		if !seen[k] {
			problems = append(problems, fmt.Errorf("test config sets %q, which the schema does not declare", k))
		}
	}
	return errors.Join(problems...)
}

func (r *providerRun) checkNew(context.Context) error {
	if r.h.Factory == nil {
		return Skipf("no factory")
	}
	if r.stateDir == "" {
		d, err := os.MkdirTemp("", "plat-conformance-state-")
		if err != nil {
			return fmt.Errorf("make state dir: %w", err)
		}
		r.stateDir, r.tmpState = d, true
	}
	p, err := r.h.Factory.New(r.h.Config)
	if err != nil {
		return fmt.Errorf("new provider: %w", err)
	}
	if env := r.env(); env != nil {
		if env.Provider.Type == "" && env.Provider.Values == nil {
			env.Provider = r.h.Config
		}
		platform.ResolveHosts(r.app, env, r.h.Factory.Schema().Hosts)
	}
	if p == nil {
		return errors.New("new returned a nil provider and no error")
	}
	r.mu.Lock()
	r.prov = p
	r.mu.Unlock()
	return nil
}

func (r *providerRun) checkUp(ctx context.Context) error {
	p, err := r.provider()
	if err != nil {
		return err
	}
	pr, ok := p.(platform.Provisioner)
	if !ok {
		return Skipf("provider is not a Provisioner")
	}
	resp, err := pr.Up(ctx, &platform.UpRequest{App: r.app, Env: r.env(), StateDir: r.stateDir, Progress: func(string, string) {}})
	if err != nil {
		return fmt.Errorf("up: %w", err)
	}
	return coversHosts("up", resp.Machines, r.hostNames())
}

// coversHosts checks that every host has a machine status with a state.
func coversHosts(op string, ms []platform.MachineStatus, hosts []string) error {
	got := map[string]string{}
	for _, m := range ms {
		got[m.Host] = m.State
	}
	var problems []error
	for _, h := range hosts {
		st, ok := got[h]
		if !ok {
			problems = append(problems, fmt.Errorf("%s: no machine status for host %s", op, h))
		} else if st == "" {
			problems = append(problems, fmt.Errorf("%s: host %s has an empty state", op, h))
		}
	}
	return errors.Join(problems...)
}

func (r *providerRun) checkMachines(ctx context.Context) error {
	p, err := r.provider()
	if err != nil {
		return err
	}
	ms, ok := p.(platform.MachineStatuser)
	if !ok {
		return Skipf("provider is not a MachineStatuser")
	}
	list, err := ms.Machines(ctx, &platform.TargetsRequest{App: r.app, Env: r.env(), StateDir: r.stateDir})
	if err != nil {
		return fmt.Errorf("machines: %w", err)
	}
	return coversHosts("machines", list, r.hostNames())
}

// targets calls Targets; the caller closes the transports.
func (r *providerRun) targets(ctx context.Context, hosts []string) ([]*platform.Target, error) {
	p, err := r.provider()
	if err != nil {
		return nil, err
	}
	resp, err := p.Targets(ctx, &platform.TargetsRequest{App: r.app, Env: r.env(), StateDir: r.stateDir, Hosts: hosts})
	if err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	if resp == nil {
		return nil, errors.New("targets returned a nil response and no error")
	}
	return resp.Targets, nil
}

func closeAll(ts []*platform.Target) error {
	var errs []error
	for _, t := range ts {
		if t != nil && t.Transport != nil {
			if err := t.Transport.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close transport of %s: %w", t.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (r *providerRun) checkTargets(ctx context.Context) error {
	ts, err := r.targets(ctx, nil)
	if err != nil {
		return err
	}
	var problems []error
	hosts := r.hostNames()
	if len(ts) != len(hosts) {
		problems = append(problems, fmt.Errorf("got %d targets, want %d (%s)", len(ts), len(hosts), strings.Join(hosts, ", ")))
	}
	for i, t := range ts {
		if t == nil {
			problems = append(problems, fmt.Errorf("target %d is nil", i))
			continue
		}
		if i < len(hosts) && t.Name != hosts[i] {
			problems = append(problems, fmt.Errorf("target %d is %q, want %q (targets come in host order)", i, t.Name, hosts[i]))
		}
		if t.Transport == nil {
			problems = append(problems, fmt.Errorf("target %s has no transport", t.Name))
		}
		if !path.IsAbs(t.DeployTo) {
			problems = append(problems, fmt.Errorf("target %s: deploy_to %q is not absolute", t.Name, t.DeployTo))
		}
		if t.Port <= 0 {
			problems = append(problems, fmt.Errorf("target %s: port %d, want > 0", t.Name, t.Port))
		}
	}
	problems = append(problems, closeAll(ts))
	return errors.Join(problems...)
}

func (r *providerRun) checkFilter(ctx context.Context) error {
	hosts := r.hostNames()
	last := hosts[len(hosts)-1]
	ts, err := r.targets(ctx, []string{last})
	if err != nil {
		return err
	}
	defer closeAll(ts)
	if len(ts) != 1 || ts[0] == nil || ts[0].Name != last {
		var names []string
		for _, t := range ts {
			if t != nil {
				names = append(names, t.Name)
			}
		}
		return fmt.Errorf("targets with hosts [%s] returned [%s]", last, strings.Join(names, ", "))
	}
	return nil
}

// checkOrder asks for the hosts in reverse: the targets still come in the
// order the environment declares them.
func (r *providerRun) checkOrder(ctx context.Context) error {
	hosts := r.hostNames()
	if len(hosts) < 2 {
		return Skipf("the environment has one host")
	}
	rev := slices.Clone(hosts)
	slices.Reverse(rev)
	ts, err := r.targets(ctx, rev)
	if err != nil {
		return err
	}
	defer closeAll(ts)
	var got []string
	for _, t := range ts {
		if t != nil {
			got = append(got, t.Name)
		}
	}
	if !slices.Equal(got, hosts) {
		return fmt.Errorf("targets with hosts [%s] returned [%s], want [%s] (the environment's order)", strings.Join(rev, ", "), strings.Join(got, ", "), strings.Join(hosts, ", "))
	}
	return nil
}

// checkUnknownHost asks for a host the environment does not declare, one
// letter off a declared one: an error naming it, with a "did you mean".
func (r *providerRun) checkUnknownHost(ctx context.Context) error {
	if _, err := r.provider(); err != nil {
		return err
	}
	first := r.hostNames()[0]
	bad := first + "x"
	ts, err := r.targets(ctx, []string{bad})
	if err == nil {
		closeAll(ts)
		return fmt.Errorf("targets with hosts [%s] succeeded (%d targets); want an error naming the unknown host", bad, len(ts))
	}
	if !strings.Contains(err.Error(), strconv.Quote(bad)) {
		return fmt.Errorf("targets with unknown host %s: %q does not name it", bad, err)
	}
	if !strings.Contains(err.Error(), "did you mean "+strconv.Quote(first)) {
		return fmt.Errorf("targets with unknown host %s: %q does not suggest %s", bad, err, first)
	}
	return nil
}

// transportCheck runs the i-th transport check on every target, each with
// a fresh transport from Targets.
func (r *providerRun) transportCheck(i int) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := r.provider(); err != nil {
			return err
		}
		var problems []error
		for _, host := range r.hostNames() {
			src := TransportSource{New: func(ctx context.Context) (platform.Transport, error) {
				ts, err := r.targets(ctx, []string{host})
				if err != nil {
					return nil, err
				}
				if len(ts) != 1 || ts[0] == nil || ts[0].Transport == nil {
					closeAll(ts)
					return nil, fmt.Errorf("targets for host %s returned no transport", host)
				}
				return ts[0].Transport, nil
			}}
			if err := TransportChecks(src)[i].Run(ctx); err != nil {
				problems = append(problems, fmt.Errorf("target %s: %w", host, err))
			}
		}
		return errors.Join(problems...)
	}
}

func (r *providerRun) checkDown(ctx context.Context) error {
	p, err := r.provider()
	if err != nil {
		return err
	}
	pr, ok := p.(platform.Provisioner)
	if !ok {
		return Skipf("provider is not a Provisioner")
	}
	if _, err := pr.Down(ctx, &platform.DownRequest{App: r.app, Env: r.env(), StateDir: r.stateDir, Destroy: true, Progress: func(string, string) {}}); err != nil {
		return fmt.Errorf("down (destroy): %w", err)
	}
	return nil
}

func (r *providerRun) checkAfterDestroy(ctx context.Context) error {
	p, err := r.provider()
	if err != nil {
		return err
	}
	if _, ok := p.(platform.Provisioner); !ok {
		return Skipf("provider is not a Provisioner")
	}
	ts, err := r.targets(ctx, nil)
	if err == nil {
		closeAll(ts)
		return errors.New("targets succeeded after down with destroy; want an error naming a missing host")
	}
	first := r.hostNames()[0]
	if !strings.Contains(err.Error(), first) {
		return fmt.Errorf("targets after destroy: %q does not name host %s", err, first)
	}
	return nil
}

func (r *providerRun) cleanup(context.Context) error {
	if r.tmpState {
		if err := os.RemoveAll(r.stateDir); err != nil {
			return fmt.Errorf("remove state dir: %w", err)
		}
	}
	return nil
}
