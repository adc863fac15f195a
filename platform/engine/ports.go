package engine

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
)

// Many apps share a host: each keeps its own web port, recorded in the
// host's port registry (hostcmd/scripts/ports.sh), keyed by deploy_to. A target
// whose provider keeps a registry (Target.Ports) and whose configuration
// names no port gets the port recorded for its deploy_to (lookupPorts,
// on every command) or, on a push under the deploy lock, the lowest free
// one from the registry's base (assignPorts). A named port is recorded
// too, so that no other app is given it, and refused when another app's
// line already holds it.

// PortClashError is a port the configuration names that the host's
// registry gives another app.
type PortClashError struct {
	Host          string
	Port          int
	App, Env      string // the app that names the port
	Other         string // the app the registry gives it to
	OtherEnv      string
	OtherDeployTo string
}

func (e *PortClashError) Error() string {
	return fmt.Sprintf("host %s: port %d is app %q's (environment %s, %s) in the host's port registry, and app %q (environment %s) names it: give one of them another port, or name none and let plat assign one",
		e.Host, e.Port, e.Other, e.OtherEnv, e.OtherDeployTo, e.App, e.Env)
}

// Unwrap makes a clash a configuration error (exit 2).
func (e *PortClashError) Unwrap() error { return ErrConfig }

// lookupPorts gives each target that names no port the one its host's
// registry records for it (a host that has none keeps the provider's
// default until a push assigns one).
func (e *Engine) lookupPorts(ctx context.Context, ts []*platform.Target) error {
	var todo []*platform.Target
	for _, t := range ts {
		if t.Ports != nil && !t.Ports.Named {
			todo = append(todo, t)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	errs := e.forEach(ctx, todo, 0, func(ctx context.Context, t *platform.Target) error {
		out, err := run(ctx, t, hostcmd.PortLookup(t.Ports.Dir, t.DeployTo))
		if err != nil {
			return fmt.Errorf("host %s: read the port registry in %s: %w", t.Name, t.Ports.Dir, err)
		}
		port, err := hostcmd.ParsePort(out)
		if err != nil {
			return fmt.Errorf("host %s: %w", t.Name, err)
		}
		if port != 0 {
			setPort(t, port)
		}
		return nil
	})
	return firstHostError(errs)
}

// assignPorts records every target's port in its host's registry, under
// the deploy lock: named ports as they are (refusing one another app
// holds), the others as the registry assigns them.
func (e *Engine) assignPorts(ctx context.Context, env *platform.Environment, ts []*platform.Target) error {
	errs := e.forEach(ctx, ts, 0, func(ctx context.Context, t *platform.Target) error {
		if t.Ports == nil {
			return nil
		}
		if strings.ContainsAny(t.DeployTo, "\n") {
			return fmt.Errorf("host %s: deploy_to %q holds a newline", t.Name, t.DeployTo)
		}
		named := 0
		if t.Ports.Named {
			named = t.Port
		}
		out, err := run(ctx, t, hostcmd.PortAssign(t.Ports.Dir, t.DeployTo, e.Project.App.Name, env.Name, t.Ports.Base, named))
		if platform.ExitCode(err) == hostcmd.ExitPortClash {
			if c, ok := hostcmd.ParseClash(out); ok {
				return &PortClashError{Host: t.Name, Port: c.Port, App: e.Project.App.Name, Env: env.Name, Other: c.App, OtherEnv: c.Env, OtherDeployTo: c.DeployTo}
			}
		}
		if err != nil {
			return fmt.Errorf("host %s: record the port in the registry in %s: %w", t.Name, t.Ports.Dir, err)
		}
		port, err := hostcmd.ParsePort(out)
		if err != nil || port == 0 {
			return fmt.Errorf("host %s: the port registry in %s: %v", t.Name, t.Ports.Dir, err)
		}
		if port != t.Port {
			e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: fmt.Sprintf("port %d assigned to app %s (recorded in %s/ports)", port, e.Project.App.Name, t.Ports.Dir)})
		}
		setPort(t, port)
		return nil
	})
	return firstHostError(errs)
}

// setPort moves the target's port, and its health address with it.
func setPort(t *platform.Target, port int) {
	old := t.Port
	t.Port = port
	host, p, err := net.SplitHostPort(t.HealthAddr)
	if err == nil && p == strconv.Itoa(old) {
		t.HealthAddr = net.JoinHostPort(host, strconv.Itoa(port))
	}
}

// firstHostError is the error of the first host (by name) that failed, a
// clash before any other.
func firstHostError(errs map[string]error) error {
	hosts := sortedHosts(errs)
	for _, h := range hosts {
		if _, ok := errs[h].(*PortClashError); ok {
			return errs[h]
		}
	}
	if len(hosts) > 0 {
		return errs[hosts[0]]
	}
	return nil
}
