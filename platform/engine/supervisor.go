package engine

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
)

// Supervisor runs the app's Procfile processes on one host. Every command
// that starts, stops or lists processes (push and rollback through
// activate and deactivate, plat start, stop, restart, ps, status, up and
// down) goes through the Supervisor that (*Engine).supervisor chooses for
// the target from the app's and the environment's settings:
//
//   - the app's own restart command (app { restart = [...] }): plat
//     switches and runs it; the app starts, stops and knows its processes;
//   - systemd user units (processes = "systemd"): one unit per type;
//   - plat's pid files with rollout { restart = "overlap" }: the new web
//     process starts next to the old one on the same port;
//   - plat's pid files, stop-start (the default).
//
// Procs maps process type to its Procfile command; penv is the processes'
// environment (PORT, PLAT_*, the app's env). The release type (a release
// task) is never a process. Activate runs plat's own process commands to
// their end even when ctx is cancelled (each is bounded by the drain or
// the listen timeout): a stop cut short after it took a pid file would
// leave a process running untracked, holding the port (found by the kill
// trials). Only the app's own restart command is interrupted.
type Supervisor interface {
	// Activate makes release id current on the host (hostcmd.Switch) and
	// (re)starts procs from it, the switch placed where this supervisor
	// needs it (after stopping the old processes, after writing the
	// units, before the new web process starts next to the old one).
	Activate(ctx context.Context, id string, procs, penv map[string]string) error
	// Start starts procs of release id, which do not run (never started,
	// stopped, or dead: a dead one's leftovers are cleared first).
	Start(ctx context.Context, id string, procs, penv map[string]string) error
	// Stop stops the given types (every process of the app on the host
	// when none), giving each up to drain to exit after TERM (systemd
	// uses the units' TimeoutStopSec). Stopping what does not run is not
	// an error.
	Stop(ctx context.Context, drain time.Duration, types ...string) error
	// Restart restarts procs of release id in place, without a switch.
	Restart(ctx context.Context, id string, procs, penv map[string]string) error
	// List reports the given types, sorted, each running, dead or
	// stopped (a pid supervisor adds pid files of other types); with no
	// types, every process it knows of the app on this host.
	List(ctx context.Context, types []string) ([]hostProcess, error)
	// Owns is the host command that proves the web process it runs holds
	// port alone (hostcmd.Owns), waiting up to wait; nil when it runs no
	// web process plat can tell.
	Owns(port int, wait time.Duration) *platform.Command
}

// supervisor is t's Supervisor under env.
func (e *Engine) supervisor(env *platform.Environment, t *platform.Target) Supervisor {
	app := e.Project.App
	switch {
	case len(app.Restart) > 0:
		return &commandSupervisor{e: e, t: t, argv: app.Restart}
	case env.Processes == "systemd":
		return &systemdSupervisor{e: e, t: t, app: app.Name, env: env.Name, drain: drainTimeout(env)}
	}
	pid := &pidSupervisor{e: e, t: t, drain: drainTimeout(env)}
	if env.Rollout.Restart == platform.RestartOverlap {
		return &overlapSupervisor{pidSupervisor: pid, listen: platform.ListenTimeout(e.health(env))}
	}
	return pid
}

// processTypes is procs without the release type, as a copy: procs may be
// a release's own map, shared by the hosts switching in parallel.
func processTypes(procs map[string]string) map[string]string {
	procs = maps.Clone(procs)
	delete(procs, "release")
	if procs == nil {
		procs = map[string]string{}
	}
	return procs
}

func switchTo(ctx context.Context, t *platform.Target, id string) error {
	if _, err := run(ctx, t, hostcmd.Switch(t.DeployTo, id)); err != nil {
		return fmt.Errorf("switch: %w", err)
	}
	return nil
}

// pidSupervisor is plat's own: each process detached in its session
// (hostcmd.Start), its pid in .plat/pids, restarted by stopping the old
// processes (TERM, drain, KILL) before the switch and starting the new
// ones after it.
type pidSupervisor struct {
	e     *Engine
	t     *platform.Target
	drain time.Duration
}

func (s *pidSupervisor) Activate(ctx context.Context, id string, procs, penv map[string]string) error {
	ctx = context.WithoutCancel(ctx)
	procs = processTypes(procs)
	if len(procs) > 0 {
		if err := s.Stop(ctx, s.drain); err != nil {
			return fmt.Errorf("stop processes: %w", err)
		}
	}
	if err := switchTo(ctx, s.t, id); err != nil {
		return err
	}
	if len(procs) == 0 {
		return nil
	}
	if err := s.start(ctx, id, "", procs, penv); err != nil {
		return fmt.Errorf("start processes: %w", err)
	}
	return nil
}

func (s *pidSupervisor) Start(ctx context.Context, id string, procs, penv map[string]string) error {
	// Stop clears the dead processes' pid files (and what is left of
	// their process groups).
	if err := s.Stop(ctx, 0, sortedKeys(procs)...); err != nil {
		return err
	}
	return s.start(ctx, id, "", procs, penv)
}

func (s *pidSupervisor) Stop(ctx context.Context, drain time.Duration, types ...string) error {
	return s.stop(ctx, drain, "", types...)
}

func (s *pidSupervisor) stop(ctx context.Context, drain time.Duration, suffix string, types ...string) error {
	_, err := run(ctx, s.t, hostcmd.Stop(s.t.DeployTo, drain, suffix, types...))
	return err
}

func (s *pidSupervisor) Restart(ctx context.Context, id string, procs, penv map[string]string) error {
	if err := s.Stop(ctx, s.drain, sortedKeys(procs)...); err != nil {
		return fmt.Errorf("stop processes: %w", err)
	}
	if err := s.start(ctx, id, "", procs, penv); err != nil {
		return fmt.Errorf("start processes: %w", err)
	}
	return nil
}

// start starts procs of release id with the process environment penv
// (hostcmd.Start, pid files with suffix), and says when the host has no
// bash to run them with, as Heroku would.
func (s *pidSupervisor) start(ctx context.Context, id, suffix string, procs, penv map[string]string) error {
	cmd := hostcmd.Start(s.t.DeployTo, id, suffix, procs)
	cmd.Env = penv
	out, err := run(ctx, s.t, cmd)
	if err == nil && strings.HasPrefix(out, hostcmd.NoBash+"\n") {
		s.e.emit(platform.Event{Type: platform.EventLog, Host: s.t.Name, Message: "warning: this host has no bash: Procfile commands and .profile.d scripts run with sh (Heroku runs them with bash)"})
	}
	return err
}

// List reads the pid files: a type without one is stopped, one whose
// process is gone (or a stale pid file) is dead.
func (s *pidSupervisor) List(ctx context.Context, types []string) ([]hostProcess, error) {
	out, err := run(ctx, s.t, hostcmd.Processes(s.t.DeployTo))
	if err != nil {
		return nil, fmt.Errorf("read pid files: %w", err)
	}
	byType := map[string]hostcmd.Process{}
	for _, p := range hostcmd.ParseProcesses(out) {
		byType[p.Type] = p
	}
	var ps []hostProcess
	for _, typ := range types {
		p, ok := byType[typ]
		switch {
		case !ok:
			ps = append(ps, hostProcess{hostcmd.Process{Type: typ}, StateStopped})
		case p.Running:
			ps = append(ps, hostProcess{p, StateRunning})
		default:
			ps = append(ps, hostProcess{p, StateDead})
		}
		delete(byType, typ)
	}
	for _, typ := range sortedKeys(byType) {
		p := byType[typ]
		st := StateDead
		if p.Running {
			st = StateRunning
		}
		ps = append(ps, hostProcess{p, st})
	}
	return ps, nil
}

func (s *pidSupervisor) Owns(port int, wait time.Duration) *platform.Command {
	return hostcmd.Owns(s.t.DeployTo, "web", "", port, wait)
}

// nextSuffix marks the pid files of the web generation that starts next
// to the running one during an overlapping restart.
const nextSuffix = ".next"

// overlapSupervisor is pidSupervisor with restart = "overlap": the new web
// process starts while the old one still serves, on the same port (the
// app sets SO_REUSEPORT); once it listens, the old one gets TERM and the
// drain timeout to finish its requests, and the new generation's pid
// files replace the old. Other process types hold no port: they stop
// before the switch and start after it, as with stop-start. If the new
// web process never listens, it is stopped and the old one keeps serving.
// Without a web type it is stop-start.
type overlapSupervisor struct {
	*pidSupervisor
	// listen is how long the new web process may take to listen.
	listen time.Duration
}

func (s *overlapSupervisor) Activate(ctx context.Context, id string, procs, penv map[string]string) error {
	procs = processTypes(procs)
	if procs["web"] == "" {
		return s.pidSupervisor.Activate(ctx, id, procs, penv)
	}
	ctx = context.WithoutCancel(ctx)
	t, drain := s.t, s.drain
	others := maps.Clone(procs)
	delete(others, "web")
	types := sortedKeys(others)
	// A generation left by an interrupted restart goes first.
	if err := s.stop(ctx, drain, nextSuffix, "web"); err != nil {
		return fmt.Errorf("stop processes: %w", err)
	}
	if len(types) > 0 {
		if err := s.Stop(ctx, drain, types...); err != nil {
			return fmt.Errorf("stop processes: %w", err)
		}
	}
	if err := switchTo(ctx, t, id); err != nil {
		return err
	}
	if err := s.start(ctx, id, nextSuffix, map[string]string{"web": procs["web"]}, penv); err != nil {
		return fmt.Errorf("start web process: %w", err)
	}
	_, err := run(ctx, t, hostcmd.WaitListen(t.DeployTo, "web", nextSuffix, t.Port, s.listen))
	switch code := platform.ExitCode(err); {
	case err == nil:
	case code == hostcmd.ExitListenUnknown:
		s.e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: "restart = \"overlap\": this host has no /proc/net/tcp to tell when the new web process listens; stopping the old one now"})
	default:
		_ = s.stop(ctx, drain, nextSuffix, "web")
		return fmt.Errorf("start web process next to the running one (restart = \"overlap\": the app must allow SO_REUSEPORT on its port): %w", err)
	}
	if err := s.Stop(ctx, drain, "web"); err != nil {
		return fmt.Errorf("stop the old web process: %w", err)
	}
	if _, err := run(ctx, t, hostcmd.Promote(t.DeployTo, nextSuffix)); err != nil {
		return fmt.Errorf("promote the new web process: %w", err)
	}
	if len(others) > 0 {
		if err := s.start(ctx, id, "", others, penv); err != nil {
			return fmt.Errorf("start processes: %w", err)
		}
	}
	return nil
}

// systemdSupervisor runs each process type as a systemd user unit
// (hostcmd.Units): systemd starts, stops (TERM, TimeoutStopSec, KILL) and
// restarts them, and reports their state. restart = "overlap" does not
// apply: one unit runs one process.
type systemdSupervisor struct {
	e        *Engine
	t        *platform.Target
	app, env string
	drain    time.Duration
}

func (s *systemdSupervisor) units(types []string) []string {
	var us []string
	for _, typ := range types {
		us = append(us, hostcmd.UnitName(s.app, s.env, s.t.Name, typ))
	}
	return us
}

// Activate writes the units of the new release (and removes those of
// dropped process types) before the switch, then restarts them.
func (s *systemdSupervisor) Activate(ctx context.Context, id string, procs, penv map[string]string) error {
	ctx = context.WithoutCancel(ctx)
	t := s.t
	u := hostcmd.Units{App: s.app, Env: s.env, Host: t.Name, DeployTo: t.DeployTo, Release: id, Procs: processTypes(procs), Vars: penv, Drain: s.drain}
	if _, err := run(ctx, t, hostcmd.SystemdInstall(u)); err != nil {
		return fmt.Errorf("install systemd units: %w", err)
	}
	if err := switchTo(ctx, t, id); err != nil {
		return err
	}
	if _, err := run(ctx, t, hostcmd.SystemdStart(u.Names()...)); err != nil {
		return fmt.Errorf("restart systemd units: %w", err)
	}
	return nil
}

// Start starts the units; they run the release their unit files name
// (the current one, written by the last Activate).
func (s *systemdSupervisor) Start(ctx context.Context, id string, procs, penv map[string]string) error {
	_, err := run(ctx, s.t, hostcmd.SystemdControl("start", s.app, s.env, s.t.Name, sortedKeys(procs)))
	return err
}

func (s *systemdSupervisor) Stop(ctx context.Context, drain time.Duration, types ...string) error {
	if len(types) == 0 {
		_, err := run(ctx, s.t, hostcmd.SystemdStop(s.app, s.env, s.t.Name))
		return err
	}
	_, err := run(ctx, s.t, hostcmd.SystemdControl("stop", s.app, s.env, s.t.Name, types))
	return err
}

func (s *systemdSupervisor) Restart(ctx context.Context, id string, procs, penv map[string]string) error {
	_, err := run(ctx, s.t, hostcmd.SystemdRestart(s.app, s.env, s.t.Name, sortedKeys(procs)))
	return err
}

// List asks systemd (systemctl --user show): a unit is running when it
// is active (or activating, reloading) with a main pid, else stopped;
// systemd restarts a crashed one (Restart=on-failure), so there is no
// dead. With no types it lists the app's unit files on the host.
func (s *systemdSupervisor) List(ctx context.Context, types []string) ([]hostProcess, error) {
	var ps []hostcmd.Process
	if len(types) == 0 {
		out, err := run(ctx, s.t, hostcmd.SystemdUnits(s.app, s.env, s.t.Name))
		if err != nil {
			return nil, fmt.Errorf("ask systemd: %w", err)
		}
		ps = hostcmd.ParseSystemdUnits(s.app, s.env, s.t.Name, out)
	} else {
		out, err := run(ctx, s.t, hostcmd.SystemdProcesses(s.app, s.env, s.t.Name, types))
		if err != nil {
			return nil, fmt.Errorf("ask systemd: %w", err)
		}
		ps = hostcmd.ParseSystemdProcesses(s.app, s.env, s.t.Name, types, out)
	}
	var out []hostProcess
	for _, p := range ps {
		if p.Running {
			out = append(out, hostProcess{p, StateRunning})
			continue
		}
		p.PID, p.Since = 0, time.Time{}
		out = append(out, hostProcess{p, StateStopped})
	}
	return out, nil
}

func (s *systemdSupervisor) Owns(port int, wait time.Duration) *platform.Command {
	return hostcmd.Owns(s.t.DeployTo, "web", hostcmd.UnitName(s.app, s.env, s.t.Name, "web"), port, wait)
}

// commandSupervisor is the app's own restart command (app { restart =
// [...] }), run in the new release after the switch: the app manages its
// processes, so plat neither starts, stops nor lists them.
type commandSupervisor struct {
	e    *Engine
	t    *platform.Target
	argv []string
}

func (s *commandSupervisor) managed() error {
	return fmt.Errorf("processes are managed by the app's restart command (%s)", strings.Join(s.argv, " "))
}

// Activate switches (to its end, as plat's own commands), then runs the
// restart command, which ctx may interrupt.
func (s *commandSupervisor) Activate(ctx context.Context, id string, procs, penv map[string]string) error {
	if err := switchTo(context.WithoutCancel(ctx), s.t, id); err != nil {
		return err
	}
	cmd := hostcmd.InRelease(s.t.DeployTo, id, s.argv)
	cmd.Env = penv
	if _, err := run(ctx, s.t, cmd); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

func (s *commandSupervisor) Start(context.Context, string, map[string]string, map[string]string) error {
	return s.managed()
}

// Stop does nothing: the app's processes are its own (a first release
// that fails its gate is switched away from, its processes left to it).
func (s *commandSupervisor) Stop(context.Context, time.Duration, ...string) error { return nil }

func (s *commandSupervisor) Restart(context.Context, string, map[string]string, map[string]string) error {
	return s.managed()
}

func (s *commandSupervisor) List(context.Context, []string) ([]hostProcess, error) {
	return nil, s.managed()
}

func (s *commandSupervisor) Owns(int, time.Duration) *platform.Command { return nil }

var (
	_ Supervisor = (*pidSupervisor)(nil)
	_ Supervisor = (*overlapSupervisor)(nil)
	_ Supervisor = (*systemdSupervisor)(nil)
	_ Supervisor = (*commandSupervisor)(nil)
)
