package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/platform/release"
)

// RollbackOptions tune a rollback.
type RollbackOptions struct {
	EnvName string
	// Release to return to; "" means the release before the newest one
	// that is current on any host.
	Release  string
	LockWait time.Duration
}

// Rollback switches every host to an earlier release without rebuilding:
// hosts that still have it switch at once; hosts that pruned it get it
// uploaded again from the local store. Hosts already on it are left alone,
// so a rollback after a halted push makes the fleet consistent.
func (e *Engine) Rollback(ctx context.Context, opts RollbackOptions) (*PushResult, error) {
	env, prov, err := e.environment(opts.EnvName)
	if err != nil {
		return nil, err
	}
	if opts.Release != "" && !release.ValidID(opts.Release) {
		return nil, fmt.Errorf("%w: %q is not a release id (r1, r2, …; see plat releases %s)", ErrConfig, opts.Release, opts.EnvName)
	}
	if s, ok := schedulerOf(prov); ok {
		return e.rollbackScheduled(ctx, opts, env, s)
	}
	ts, closeAll, err := e.targets(ctx, env, prov, nil)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	lock, err := e.acquire(ctx, env, ts, "rollback", "", opts.LockWait)
	if err != nil {
		return nil, err
	}
	defer lock.release(ctx)
	states, errs := e.readStates(ctx, env.Name, ts)
	if len(errs) > 0 {
		return nil, &DeployError{Op: "read host state", Hosts: errs}
	}
	target := opts.Release
	if target == "" {
		newest := ""
		for _, t := range ts {
			if c := states[t.Name].Current; release.Num(c) > release.Num(newest) {
				newest = c
			}
		}
		for _, t := range ts {
			if states[t.Name].Current == newest {
				target = states[t.Name].previousOf(newest)
				if target != "" {
					break
				}
			}
		}
		if target == "" {
			return nil, fmt.Errorf("%w: no earlier release to roll back to on %s (current: %s)", ErrConfig, env.Name, orNone(newest))
		}
	}
	if err := e.teamFetch(ctx, env.Name, target); err != nil {
		return nil, err
	}
	rel, relErr := e.store().Get(env.Name, target)
	if errors.Is(relErr, release.ErrNotFound) {
		if known := e.knownReleases(env.Name, states); !slices.Contains(known, target) {
			return nil, fmt.Errorf("%w: unknown release %s of %s: neither a host nor the local store has it (known: %s; see `plat releases %s`)",
				ErrConfig, target, env.Name, cmp.Or(strings.Join(known, ", "), "none"), env.Name)
		}
	}
	p := &push{e: e, env: env, targets: ts, states: states, start: e.now(), id: newPushID(target),
		rows: map[string]*platform.SummaryRow{}, prev: map[string]string{}, done: map[string]bool{}, history: map[string]platform.Outcome{}}
	p.rel = rel
	if relErr != nil {
		p.rel = &release.Release{ID: target, Env: env.Name}
	}
	for _, t := range ts {
		p.rows[t.Name] = &platform.SummaryRow{Host: t.Name, Release: target, Status: platform.HostPending}
	}
	e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: "rolling back " + env.Name + " to " + target})
	lists, up := p.rollbackLists(target, relErr)
	errs = p.exec().runAll(ctx, lists, 0, nil)
	if up != nil {
		up.close()
	}
	res := p.result()
	e.emit(platform.Event{Type: platform.EventSummary, Rows: res.Rows})
	// Ends any halted push: plat push --resume has nothing left to finish.
	p.journalLocal(pushRolledBack, "plat rollback")
	if len(errs) > 0 {
		return res, &DeployError{Op: "rollback to " + target, Hosts: errs}
	}
	return res, nil
}

// rollbackLists compiles plat rollback to target: per host, nothing but
// starting what is down where target is current already; elsewhere the
// upload of target from the local store where the host pruned it, then
// the switch and its health gate (run to their end even if plat is
// interrupted), then the history record. The uploader it returns, if
// any, is closed by the caller.
func (p *push) rollbackLists(target string, relErr error) ([]hostSteps, *uploader) {
	e, env := p.e, p.env
	var up *uploader
	var upErr error
	var lists []hostSteps
	for _, t := range p.targets {
		st := p.states[t.Name]
		if st.Current == target {
			// Its processes may be down: a rollback killed in the middle
			// of this host's switch left them so. Starting them makes the
			// same rollback, run again, the way out.
			lists = append(lists, hostSteps{t, []Step{{Name: "start", Quiet: true, Does: "start what is down of " + target + " (already current)",
				Run: func(ctx context.Context) error {
					_, err := e.startDown(ctx, env, []*platform.Target{t}, "already on "+target+", but ")
					return err
				},
				OnFail: func(error) { p.setRow(t.Name, platform.HostFailed, "start") },
				OnDone: func() { p.setRow(t.Name, platform.HostOK, "already current") }}}})
			continue
		}
		var steps []Step
		if !st.has(target) {
			if relErr == nil && up == nil && upErr == nil {
				man, err := e.store().Manifest(env.Name, target)
				if err == nil {
					up = newUploader(e, p.rel, man)
					up.secrets, err = e.store().Secrets(env.Name, target)
				}
				if err != nil {
					up, upErr = nil, err
				}
			}
			switch {
			case relErr != nil:
				steps = append(steps, failStep(t, "rollback", fmt.Errorf("release %s was pruned on the host and is not in the local store: %v", target, relErr)))
			case upErr != nil:
				steps = append(steps, failStep(t, "rollback", upErr))
			default:
				s := up.step(t, st)
				s.OnFail = func(error) { p.setRow(t.Name, platform.HostFailed, "upload") }
				steps = append(steps, s)
			}
		}
		// A host that begins to switch finishes (stop, switch, start,
		// health check: each bounded) even if plat is interrupted: a ^C
		// must not leave it with its processes stopped. Hosts that have
		// not begun are left as they are.
		began := false
		steps = append(steps, Step{Name: "begin", Quiet: true, Does: "stop here if plat was interrupted", Run: func(ctx context.Context) error {
			if err := ctx.Err(); err != nil {
				p.setRow(t.Name, platform.HostNotSwitched, "interrupted")
				return &HostError{Host: t.Name, Step: "rollback", Err: err}
			}
			began = true
			return nil
		}})
		var failed error
		sw := detached(activation{e: e, env: env, t: t, id: target, penv: p.processEnvFor(t, target), fromHost: true}.steps("rollback "+target, "from "+orNone(st.Current)))
		for i := range sw {
			sw[i].OnFail = func(err error) { failed = err }
		}
		steps = append(steps, sw...)
		steps = append(steps, Step{Name: "record", Quiet: true, Always: true, Does: "append to .plat/history and revisions.log", Run: func(ctx context.Context) error {
			if !began {
				return nil
			}
			outcome := platform.OutcomeOK
			if failed != nil {
				outcome = platform.OutcomeFailed
			}
			p.setRow(t.Name, platform.HostState(outcome), "")
			line := fmt.Sprintf("%s rolled back to release %s", e.user(), target)
			h := historyLine(HistoryEntry{Event: historyRollback, Release: target, Previous: st.Current, Time: e.now().UTC(), Pusher: e.user(),
				GitSHA: p.rel.GitSHA, Outcome: outcome, ManifestHash: p.rel.ManifestHash, Push: p.id})
			e.log().Debug("recording history", "host", t.Name, "release", target)
			_, err := run(context.WithoutCancel(ctx), t, hostcmd.Record(t.DeployTo, line, h))
			return err
		}})
		lists = append(lists, hostSteps{t, steps})
	}
	return lists, up
}

// failStep is a step that fails with err: what a host cannot do, said when
// its list runs.
func failStep(t *platform.Target, step string, err error) Step {
	return Step{Name: step, Quiet: true, Does: "fail: " + err.Error(), Run: func(context.Context) error {
		return &HostError{Host: t.Name, Step: step, Err: err}
	}}
}

// knownReleases lists, oldest first, every release of env that the local
// store or a host knows of (on disk or in its history).
func (e *Engine) knownReleases(env string, states map[string]*hostState) []string {
	seen := map[string]bool{}
	if rels, err := e.store().List(env); err == nil {
		for _, r := range rels {
			seen[r.ID] = true
		}
	}
	for _, st := range states {
		for _, id := range st.Releases {
			seen[id] = true
		}
		for _, h := range st.history {
			if release.ValidID(h.Release) {
				seen[h.Release] = true
			}
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return release.Num(ids[i]) < release.Num(ids[j]) })
	return ids
}
