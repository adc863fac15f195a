package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
)

// The recipe as data: the functions here compile a push, a rollback and a
// resumed push into step lists, per host, from the resolved model (the
// environment, the release) and what the host has (its hostState). They
// run nothing; the executor runs what they return, and --plan prints it.

// activation is "make release id current on a host, then health-check
// it": a push's switch, the switch back of a host that failed, the
// rollback of on_failure = "rollback" and plat rollback are built from it.
type activation struct {
	e    *Engine
	env  *platform.Environment
	t    *platform.Target
	id   string
	penv map[string]string
	// procs are the release's process types; with fromHost they are read
	// from the host's releases/<id>/Procfile when the step runs (a release
	// this push did not build).
	procs    map[string]string
	fromHost bool
}

func (a activation) activate(ctx context.Context) error {
	procs := a.procs
	if a.fromHost {
		procs = readProcesses(ctx, a.t, a.id)
	}
	return a.e.activate(ctx, a.t, a.env, a.id, a.penv, procs)
}

// steps are the activation as two steps: the switch (name, msg), then the
// health gate, whose failure carries the web process's last log lines.
func (a activation) steps(name, msg string) []Step {
	return []Step{
		{Name: name, Message: msg, Does: a.does(), Run: a.activate},
		{Name: "health", Message: healthLabel(a.e.health(a.env)), Does: a.healthDoes(), Run: func(ctx context.Context) error {
			err := a.e.checkHealth(ctx, a.t, a.env)
			if err != nil && ctx.Err() == nil {
				err = withLogTail(ctx, a.t, err)
			}
			return err
		}},
	}
}

// one is the activation and its health gate as one step (a switch back).
func (a activation) one(name, msg string) Step {
	return Step{Name: name, Message: msg, Does: a.does() + "; " + a.healthDoes(), Run: func(ctx context.Context) error {
		if err := a.activate(ctx); err != nil {
			return err
		}
		return a.e.checkHealth(ctx, a.t, a.env)
	}}
}

// does says what the activation runs on the host, per restart strategy.
func (a activation) does() string {
	app, env := a.e.Project.App, a.env
	link := "link current to releases/" + a.id
	types := "its Procfile's processes"
	if !a.fromHost {
		var ts []string
		for _, k := range sortedKeys(a.procs) {
			if k != "release" {
				ts = append(ts, k)
			}
		}
		if len(ts) == 0 {
			return link + " (no processes)"
		}
		types = strings.Join(ts, ", ")
	}
	drain := drainTimeout(env).String()
	switch {
	case len(app.Restart) > 0:
		return link + ", run " + strings.Join(app.Restart, " ")
	case env.Processes == "systemd":
		return "install systemd units, " + link + ", restart the units of " + types
	case env.Rollout.Restart == platform.RestartOverlap && (a.fromHost || a.procs["web"] != ""):
		return "stop the other types (drain " + drain + "), " + link + ", start web next to the old one, wait until it listens, stop the old web (drain " + drain + "), start the other types"
	}
	return "stop processes (drain " + drain + "), " + link + ", start " + types
}

func (a activation) healthDoes() string {
	h := a.e.health(a.env)
	if h == nil {
		return "no health check"
	}
	return "the web process holds $PORT, then " + healthLabel(h) + " until it passes"
}

// previousRelease is what t returns to if release id fails there: the
// release it runs, or (when it already runs id) the one before.
func previousRelease(st *hostState, id string) string {
	if st == nil {
		return ""
	}
	prev := st.Current
	if prev == id {
		prev = st.previousOf(prev)
	}
	return prev
}

// uploadList is the upload of the push's release to t.
func (p *push) uploadList(t *platform.Target, up *uploader) []Step {
	s := up.step(t, p.states[t.Name])
	s.Journal = recordUploaded
	s.OnDone = func() { p.setRow(t.Name, platform.HostUploaded, "") }
	s.OnFail = func(error) { p.setRow(t.Name, platform.HostFailed, "upload") }
	return []Step{s}
}

// releaseTask is a release-phase task on the host it runs on.
type releaseTask struct {
	t    *platform.Target
	step Step
}

// taskList is the release tasks (and the Procfile's release process),
// each once, on the first host with its role, in the new release. A
// resumed push skips the ones its journal has.
func (p *push) taskList() ([]releaseTask, error) {
	app := p.e.Project.App
	var tasks []platform.Task
	for _, t := range app.Tasks {
		if t.When == platform.PhaseRelease {
			tasks = append(tasks, t)
		}
	}
	if cmd, ok := p.rel.Processes["release"]; ok {
		tasks = append(tasks, platform.Task{Name: "release", When: platform.PhaseRelease, Run: []string{"sh", "-c", cmd}})
	}
	var out []releaseTask
	for _, task := range tasks {
		t := pickHost(p.targets, task.Role)
		if t == nil {
			return nil, fmt.Errorf("%w: release task %s: no host has role %q", ErrConfig, task.Name, task.Role)
		}
		record := recordTaskPrefix + task.Name
		out = append(out, releaseTask{t, Step{Name: "task " + task.Name, Message: fmt.Sprintf("%s (release %s)", strings.Join(task.Run, " "), p.rel.ID),
			Does: "run " + strings.Join(task.Run, " ") + " in releases/" + p.rel.ID, Journal: record, Skip: record,
			Run: func(ctx context.Context) error {
				tctx, cancel := withTimeout(ctx, task.Timeout)
				defer cancel()
				cmd := hostcmd.InRelease(t.DeployTo, p.rel.ID, task.Run)
				cmd.Env = p.processEnv(t)
				cmd.Stdout, cmd.Stderr = p.e.output(t.Name), p.e.output(t.Name)
				_, err := run(tctx, t, cmd)
				return err
			}}})
	}
	return out, nil
}

// switchList switches t to the new release and health-checks it; its
// undo, when either fails, switches the host back to the release it ran
// (or, on its first release, back to running nothing).
func (p *push) switchList(t *platform.Target) []Step {
	prev := previousRelease(p.states[t.Name], p.rel.ID)
	a := activation{e: p.e, env: p.env, t: t, id: p.rel.ID, penv: p.processEnv(t), procs: p.rel.Processes}
	steps := a.steps("switch "+p.rel.ID, "from "+orNone(prev))
	failed := func(error) {
		p.setRow(t.Name, platform.HostFailed, "switched back")
		p.mu.Lock()
		p.history[t.Name] = platform.OutcomeFailed
		p.mu.Unlock()
	}
	steps[0].OnFail, steps[1].OnFail = failed, failed
	steps[0].Undo = p.switchBack(t, prev)
	steps[1].Journal = recordSwitched
	steps[1].OnDone = func() {
		p.setRow(t.Name, platform.HostOK, "")
		p.mu.Lock()
		p.history[t.Name] = platform.OutcomeOK
		p.mu.Unlock()
	}
	return steps
}

// switchBack returns a host whose switch failed to prev (on a new
// connection if it lost its own).
func (p *push) switchBack(t *platform.Target, prev string) *Undo {
	unreachable := func(err error) error {
		p.setRow(t.Name, platform.HostFailed, "unreachable")
		return err
	}
	if prev == "" {
		// The host's first release: nothing to switch back to, so it
		// goes back to running nothing rather than a failed release.
		return &Undo{Name: "switch back", Message: "to no release", Does: "stop processes, remove current",
			Before: func(ctx context.Context, cause error) error {
				if err := p.reach(ctx, t, cause); err != nil {
					return unreachable(err)
				}
				return nil
			},
			Run:    func(ctx context.Context) error { return p.e.deactivate(ctx, t, p.env, p.rel.ID) },
			Failed: "stopping it also failed",
			OnDone: func() { p.setRelease(t.Name, "-") }}
	}
	back := activation{e: p.e, env: p.env, t: t, id: prev, penv: p.processEnvFor(t, prev), fromHost: true}.one("switch back "+prev, "")
	return &Undo{Name: back.Name, Does: back.Does,
		Before: func(ctx context.Context, cause error) error {
			if err := p.reach(ctx, t, cause, prev, p.rel.ID); err != nil {
				return unreachable(err)
			}
			return nil
		},
		Run:    back.Run,
		Failed: "switching back to " + prev + " also failed",
		OnDone: func() { p.setRelease(t.Name, prev) }}
}

// backList is on_failure = "rollback" for a host that switched: back to
// its previous release (once more on a new connection if it lost its
// own). A host that had none has nothing to go back to.
func (p *push) backList(t *platform.Target) []Step {
	p.mu.Lock()
	prev := p.prev[t.Name]
	p.mu.Unlock()
	if prev == "" {
		return nil
	}
	s := activation{e: p.e, env: p.env, t: t, id: prev, penv: p.processEnvFor(t, prev), fromHost: true}.one("rollback "+prev, "on_failure = rollback")
	s.Journal = recordRolledBack
	s.Retry = func(ctx context.Context, err error) error {
		if !errors.Is(err, platform.ErrConnectionLost) {
			return err
		}
		if rerr := p.reach(ctx, t, err, prev, p.rel.ID); rerr != nil {
			return fmt.Errorf("%w; %v", err, rerr)
		}
		return nil
	}
	s.OnDone = func() {
		p.mu.Lock()
		p.history[t.Name] = platform.OutcomeRolledBack
		p.rows[t.Name].Status = platform.HostRolledBack
		p.rows[t.Name].Release = prev
		p.mu.Unlock()
	}
	return []Step{s}
}

// finishList records what the push did on t (history, revisions.log)
// and, when t runs the release, prunes old releases. Neither step fails
// the push: the host already runs what they record.
func (p *push) finishList(ctx context.Context, t *platform.Target, outcome platform.Outcome, prev string) []Step {
	e := p.e
	branch := p.rel.GitRef
	if b := e.Project.App.Source.Branch; b != "" {
		branch = b
	}
	keep := p.env.KeepReleases // platform.FillDefaults set it
	steps := []Step{{Name: "record", Quiet: true, Does: "append to .plat/history and revisions.log", Run: func(rctx context.Context) error {
		line := fmt.Sprintf("Branch %s (at %s) deployed as release %s by %s", branch, short(p.rel.GitSHA), p.rel.ID, e.user())
		if outcome != platform.OutcomeOK {
			line = fmt.Sprintf("Branch %s (at %s) failed to deploy as release %s by %s (%s)", branch, short(p.rel.GitSHA), p.rel.ID, e.user(), outcome)
		}
		h := historyLine(HistoryEntry{Event: historyDeploy, Release: p.rel.ID, Previous: prev, Time: e.now().UTC(), Pusher: e.user(),
			GitSHA: p.rel.GitSHA, Outcome: outcome, ManifestHash: p.rel.ManifestHash, Push: p.id})
		// The kill trials (cmd/plat/faults_kill_e2e_test.go) time their
		// signals by these debug lines: history and prune emit no step.
		e.log().Debug("recording history", "host", t.Name, "release", p.rel.ID)
		if _, err := run(rctx, t, hostcmd.Record(t.DeployTo, line, h)); err != nil {
			e.log().Warn("record history", "host", t.Name, "err", err)
		}
		return nil
	}}}
	if outcome == platform.OutcomeOK {
		steps = append(steps, Step{Name: "prune", Quiet: true, Does: fmt.Sprintf("remove releases beyond the newest %d (never current or previous)", keep),
			Run: func(context.Context) error {
				// An interrupt (^C) stops the prune, not the record.
				if ctx.Err() == nil {
					p.prune(ctx, t, p.rel.ID, prev)
				}
				return nil
			}})
	}
	return steps
}

// setRelease sets the release a host's summary row shows.
func (p *push) setRelease(host, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rows[host].Release = id
}

// detached makes steps run to their end even if the command is
// interrupted (each is bounded: drain and health timeouts).
func detached(steps []Step) []Step {
	for i := range steps {
		run := steps[i].Run
		steps[i].Run = func(ctx context.Context) error { return run(context.WithoutCancel(ctx)) }
	}
	return steps
}
