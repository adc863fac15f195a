package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
)

// ProcessStatus is one process type of the current release on one host.
type ProcessStatus struct {
	Host    string `json:"host"`
	Release string `json:"release"`
	Type    string `json:"type,omitempty"`
	PID     int    `json:"pid,omitempty"`
	// State is "running", "dead" (it was started and is gone: it crashed
	// or was killed) or "stopped" (not started, or stopped by plat).
	State string    `json:"state,omitempty"`
	Since time.Time `json:"since,omitzero"`
	// Error says why the host has no rows (unreachable, no release yet,
	// processes managed by the app's restart command).
	Error string `json:"error,omitempty"`
}

// Process states.
const (
	StateRunning = "running"
	StateDead    = "dead"
	StateStopped = "stopped"
)

// LifecycleOptions selects hosts and process types for Start, Stop and
// Restart.
type LifecycleOptions struct {
	Selector
	// Types are Procfile process types; none means all of the current
	// release's (its release type excepted).
	Types []string
	// Yes answers the rollout's confirm pauses (Restart).
	Yes      bool
	LockWait time.Duration
}

// Ps reports the process types of the current release on the selected
// hosts: pid, state and since when, under either supervisor. A host that
// cannot be read gets one row with Error set.
func (e *Engine) Ps(ctx context.Context, envName string, sel Selector) ([]ProcessStatus, error) {
	env, ts, closeAll, err := e.selected(ctx, envName, sel)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	rows := each(ts, func(t *platform.Target) []ProcessStatus {
		cur, procs, err := e.currentProcesses(ctx, t)
		if err != nil {
			return []ProcessStatus{{Host: t.Name, Release: cur, Error: err.Error()}}
		}
		ps, err := e.hostProcesses(ctx, env, t, procs)
		if err != nil {
			return []ProcessStatus{{Host: t.Name, Release: cur, Error: err.Error()}}
		}
		var out []ProcessStatus
		for _, p := range ps {
			out = append(out, ProcessStatus{Host: t.Name, Release: cur, Type: p.Type, PID: p.PID, State: p.state, Since: p.Since})
		}
		if len(out) == 0 {
			out = append(out, ProcessStatus{Host: t.Name, Release: cur, Error: "the release has no processes (no Procfile types)"})
		}
		return out
	})
	var out []ProcessStatus
	for _, r := range rows {
		out = append(out, r...)
	}
	return out, nil
}

// hostProcess is a process type with its state.
type hostProcess struct {
	hostcmd.Process
	state string
}

// hostProcesses is the state of every type in procs on t (sorted by
// type), as t's Supervisor reports it.
func (e *Engine) hostProcesses(ctx context.Context, env *platform.Environment, t *platform.Target, procs map[string]string) ([]hostProcess, error) {
	return e.supervisor(env, t).List(ctx, sortedKeys(procs))
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// currentProcesses is t's current release and its Procfile types (the
// release type, a release task, excepted).
func (e *Engine) currentProcesses(ctx context.Context, t *platform.Target) (string, map[string]string, error) {
	st, err := readState(ctx, t)
	if err != nil {
		return "", nil, err
	}
	if st.Current == "" {
		return "", nil, fmt.Errorf("no release yet")
	}
	procs := readProcesses(ctx, t, st.Current)
	delete(procs, "release")
	if procs == nil {
		procs = map[string]string{}
	}
	return st.Current, procs, nil
}

// pick narrows procs to types (all when none), or names a type the
// release lacks.
func pick(host, id string, procs map[string]string, types []string) (map[string]string, error) {
	if len(types) == 0 {
		return maps.Clone(procs), nil
	}
	out := map[string]string{}
	for _, typ := range types {
		c, ok := procs[typ]
		if !ok {
			return nil, fmt.Errorf("%w: host %s: release %s has no process type %q (its Procfile has: %s)", ErrConfig, host, id, typ, orNone(strings.Join(sortedKeys(procs), ", ")))
		}
		out[typ] = c
	}
	return out, nil
}

// lifecycle prepares Start, Stop and Restart: the selected hosts, under
// the deploy lock, each with its current release and the chosen types.
type lifecycle struct {
	env      *platform.Environment
	ts       []*platform.Target
	release  map[string]string
	procs    map[string]map[string]string
	closeAll func()
	lock     *deployLock
}

func (e *Engine) openLifecycle(ctx context.Context, envName, command string, opts LifecycleOptions) (*lifecycle, error) {
	if len(e.Project.App.Restart) > 0 && command != "restart" {
		return nil, fmt.Errorf("%w: app %s manages its own processes (restart = %s): plat %s does not apply; plat restart runs that command", ErrConfig, e.Project.App.Name, strings.Join(e.Project.App.Restart, " "), command)
	}
	if len(e.Project.App.Restart) > 0 && len(opts.Types) > 0 {
		return nil, fmt.Errorf("%w: app %s restarts with its own command (restart = …): process types cannot be chosen", ErrConfig, e.Project.App.Name)
	}
	env, ts, closeAll, err := e.selected(ctx, envName, opts.Selector)
	if err != nil {
		return nil, err
	}
	l := &lifecycle{env: env, ts: ts, closeAll: closeAll, release: map[string]string{}, procs: map[string]map[string]string{}}
	l.lock, err = e.acquire(ctx, env, ts, command, "", opts.LockWait)
	if err != nil {
		closeAll()
		return nil, err
	}
	var mu sync.Mutex
	errs := e.forEach(ctx, ts, 0, func(ctx context.Context, t *platform.Target) error {
		cur, procs, err := e.currentProcesses(ctx, t)
		if err != nil {
			if err.Error() == "no release yet" {
				return fmt.Errorf("%w: host %s has no release yet: plat push %s first", ErrConfig, t.Name, env.Name)
			}
			return err
		}
		sel, err := pick(t.Name, cur, procs, opts.Types)
		if err != nil {
			return err
		}
		mu.Lock()
		l.release[t.Name], l.procs[t.Name] = cur, sel
		mu.Unlock()
		return nil
	})
	if len(errs) > 0 {
		l.close(ctx)
		// A type no host has is one mistake, said once (exit 2).
		first := errs[sortedHosts(errs)[0]]
		if errors.Is(first, ErrConfig) {
			return nil, first
		}
		return nil, &DeployError{Op: "read the current release", Hosts: errs}
	}
	return l, nil
}

func (l *lifecycle) close(ctx context.Context) {
	l.lock.release(ctx)
	l.closeAll()
}

// Start starts the chosen process types of the current release where they
// do not run (a dead one's pid file is cleared first), health-checked
// when web starts. Hosts are started in parallel.
func (e *Engine) Start(ctx context.Context, envName string, opts LifecycleOptions) error {
	l, err := e.openLifecycle(ctx, envName, "start", opts)
	if err != nil {
		return err
	}
	defer l.close(ctx)
	errs := e.forEach(ctx, l.ts, 0, func(ctx context.Context, t *platform.Target) error {
		_, err := e.startHost(ctx, l.env, t, l.release[t.Name], l.procs[t.Name])
		return err
	})
	if len(errs) > 0 {
		return &DeployError{Op: "start processes", Hosts: errs}
	}
	return nil
}

// startHost starts the types of procs that do not run on t, from release
// id, and health-checks the host when web was among them. It returns the
// types it started.
func (e *Engine) startHost(ctx context.Context, env *platform.Environment, t *platform.Target, id string, procs map[string]string) ([]string, error) {
	ps, err := e.hostProcesses(ctx, env, t, procs)
	if err != nil {
		return nil, err
	}
	down := map[string]string{}
	for _, p := range ps {
		if c, ok := procs[p.Type]; ok && p.state != StateRunning {
			down[p.Type] = c
		}
	}
	if len(down) == 0 {
		e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: fmt.Sprintf("already running: %s (%s)", strings.Join(sortedKeys(procs), ", "), id)})
		return nil, nil
	}
	types := sortedKeys(down)
	err = e.step(t.Name, "start", fmt.Sprintf("%s (%s)", strings.Join(types, ", "), id), func() error {
		return e.supervisor(env, t).Start(ctx, id, down, e.baseEnv(ctx, env, t))
	})
	if err == nil && down["web"] != "" {
		err = e.healthStep(ctx, env, t)
	}
	return types, err
}

// healthStep is the health gate of one host, as a step; a failure carries
// the last lines of the web process's log.
func (e *Engine) healthStep(ctx context.Context, env *platform.Environment, t *platform.Target) error {
	return e.step(t.Name, "health", healthLabel(e.health(env)), func() error {
		err := e.checkHealth(ctx, t, env)
		if err != nil && ctx.Err() == nil {
			err = withLogTail(ctx, t, err)
		}
		return err
	})
}

// Stop stops the chosen process types (TERM, the rollout's drain timeout,
// KILL) on the selected hosts, in parallel. They stay stopped until plat
// start, a push, or plat up.
func (e *Engine) Stop(ctx context.Context, envName string, opts LifecycleOptions) error {
	l, err := e.openLifecycle(ctx, envName, "stop", opts)
	if err != nil {
		return err
	}
	defer l.close(ctx)
	errs := e.forEach(ctx, l.ts, 0, func(ctx context.Context, t *platform.Target) error {
		var types []string
		if len(opts.Types) > 0 {
			types = sortedKeys(l.procs[t.Name])
		}
		return e.step(t.Name, "stop", orAll(types), func() error {
			return e.stopHost(ctx, l.env, t, types)
		})
	})
	if len(errs) > 0 {
		return &DeployError{Op: "stop processes", Hosts: errs}
	}
	return nil
}

func orAll(types []string) string {
	if len(types) == 0 {
		return "processes"
	}
	return strings.Join(types, ", ")
}

// stopHost stops process types on t (every process of the app when none).
func (e *Engine) stopHost(ctx context.Context, env *platform.Environment, t *platform.Target, types []string) error {
	return e.supervisor(env, t).Stop(ctx, drainTimeout(env), types...)
}

// drainTimeout is the rollout's (platform.FillDefaults set it).
func drainTimeout(env *platform.Environment) time.Duration {
	return env.Rollout.DrainTimeout
}

// Restart restarts the current release's processes as a push switches
// hosts, without a new release: stage by stage (rollout.stages, pauses,
// max_parallel), each host restarted (the app's restart command, or plat's
// stop-start or overlap restart, or systemd's) and health-gated before the
// next stage. Past max_failures the restart stops there; hosts of later
// stages keep their running processes. Chosen types restart with a plain
// stop and start.
func (e *Engine) Restart(ctx context.Context, envName string, opts LifecycleOptions) error {
	l, err := e.openLifecycle(ctx, envName, "restart", opts)
	if err != nil {
		return err
	}
	defer l.close(ctx)
	ro := l.env.Rollout
	plan, err := stages(ro.Stages, l.ts)
	if err != nil {
		return err
	}
	if ro.Confirm && !opts.Yes && e.Confirm == nil && len(plan) > 1 {
		return fmt.Errorf("%w: the rollout of %s asks before each of its %d stages (pause = \"confirm\") but this run is not interactive; nothing was restarted\nhint: pass --yes to restart every stage without asking", ErrConfig, l.env.Name, len(plan))
	}
	budget := maxFailures(ro.MaxFailures, len(l.ts))
	failed := map[string]error{}
	done := 0
	for i, stage := range plan {
		if i > 0 {
			if err := e.pauseStage(ctx, ro, opts.Yes, i, len(plan), "the restart"); err != nil {
				return fmt.Errorf("restart stopped before stage %d/%d: %w", i+1, len(plan), err)
			}
		}
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("stage %d/%d: %s", i+1, len(plan), strings.Join(names(stage), ", "))})
		errs := e.forEach(ctx, stage, ro.MaxParallel, func(ctx context.Context, t *platform.Target) error {
			return e.restartHost(ctx, l.env, t, l.release[t.Name], l.procs[t.Name], len(opts.Types) > 0)
		})
		maps.Copy(failed, errs)
		done += len(stage)
		if ctx.Err() != nil {
			return &DeployError{Op: "restart interrupted", Hosts: errs, Err: ctx.Err()}
		}
		if len(failed) > budget {
			op := fmt.Sprintf("restart stage %d/%d failed (%d host failures, %d tolerated)", i+1, len(plan), len(failed), budget)
			if rest := names(l.ts[done:]); len(rest) > 0 {
				op += "; not restarted: " + strings.Join(rest, ", ")
			}
			return &DeployError{Op: op, Hosts: failed}
		}
	}
	if len(failed) > 0 {
		return &DeployError{Op: fmt.Sprintf("%d of %d hosts failed to restart (max_failures = %s)", len(failed), len(l.ts), orZero(ro.MaxFailures)), Hosts: failed}
	}
	return nil
}

// restartHost restarts procs of release id on t, then the health gate.
// Without chosen types it is a switch to the release t already runs
// (activate), so every restart policy applies.
func (e *Engine) restartHost(ctx context.Context, env *platform.Environment, t *platform.Target, id string, procs map[string]string, chosen bool) error {
	types := sortedKeys(procs)
	label := fmt.Sprintf("%s (%s)", orAll(types), id)
	if len(e.Project.App.Restart) > 0 {
		label = strings.Join(e.Project.App.Restart, " ")
	}
	err := e.step(t.Name, "restart", label, func() error {
		penv := e.baseEnv(ctx, env, t)
		if !chosen {
			return e.activate(ctx, t, env, id, penv, procs)
		}
		return e.supervisor(env, t).Restart(ctx, id, procs, penv)
	})
	if err != nil || (procs["web"] == "" && len(e.Project.App.Restart) == 0) {
		return err
	}
	return e.healthStep(ctx, env, t)
}

// startDown starts the current release's processes that are not running
// on ts (after plat down, plat stop, a crash, a reboot): for plat up, and
// for a push that had nothing new to push (why says so), so it ends with
// an app that answers. It returns the hosts it started processes on.
func (e *Engine) startDown(ctx context.Context, env *platform.Environment, ts []*platform.Target, why string) ([]string, error) {
	if len(e.Project.App.Restart) > 0 {
		return nil, nil
	}
	var mu sync.Mutex
	var started []string
	errs := e.forEach(ctx, ts, 0, func(ctx context.Context, t *platform.Target) error {
		cur, procs, err := e.currentProcesses(ctx, t)
		if err != nil || len(procs) == 0 {
			return nil
		}
		ps, err := e.hostProcesses(ctx, env, t, procs)
		if err != nil {
			return err
		}
		var down []string
		for _, p := range ps {
			if procs[p.Type] != "" && p.state != StateRunning {
				down = append(down, p.Type+" "+p.state)
			}
		}
		if len(down) == 0 {
			return nil
		}
		e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: fmt.Sprintf("%sprocesses of %s are down (%s): starting them", why, cur, strings.Join(down, ", "))})
		types, err := e.startHost(ctx, env, t, cur, procs)
		if len(types) > 0 {
			mu.Lock()
			started = append(started, t.Name)
			mu.Unlock()
		}
		return err
	})
	sort.Strings(started)
	if len(errs) > 0 {
		return started, &DeployError{Op: fmt.Sprintf("%sstarting the stopped processes failed\nhint: plat ps %s shows them, plat logs %s tells why", why, env.Name, env.Name), Hosts: errs}
	}
	return started, nil
}
