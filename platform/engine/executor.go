package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/plat-sh/plat/platform"
)

// executor runs step lists: each step as an event step (unless quiet),
// its journal record once done, the undos of a host whose list failed,
// the lists of many hosts in parallel (bounded), and rollout stages with
// their barriers, pauses and failure budget. It knows nothing of pushes,
// rollbacks or resumes: those are in the lists.
type executor struct {
	e *Engine
	// journal writes a done step's record on its host; nil writes none.
	journal func(ctx context.Context, t *platform.Target, record string)
	// records are, per host, what its journal holds of this push from an
	// earlier run: a step whose Skip is among them is not run again.
	records map[string]map[string]bool
}

// runHost runs one host's list in order. When a step fails, the undos of
// the steps that ran (it included) run in reverse and the host's error is
// returned; later steps do not run, except those marked Always.
func (x *executor) runHost(ctx context.Context, t *platform.Target, steps []Step) error {
	var failed error
	var ran []Step
	for _, s := range steps {
		if s.Skip != "" && x.records[t.Name][s.Skip] {
			continue
		}
		if failed != nil && !s.Always {
			continue
		}
		ran = append(ran, s)
		err := x.runStep(ctx, t, s)
		if err == nil {
			if s.Journal != "" && x.journal != nil {
				x.journal(ctx, t, s.Journal)
			}
			if s.OnDone != nil {
				s.OnDone()
			}
			continue
		}
		if s.OnFail != nil {
			s.OnFail(err)
		}
		if failed == nil {
			failed = x.undo(ctx, t, ran, err)
		}
	}
	return failed
}

// runStep runs a step (with its start and end events unless quiet), and
// once more if its Retry says so.
func (x *executor) runStep(ctx context.Context, t *platform.Target, s Step) error {
	once := func() error {
		if s.Quiet {
			return s.Run(ctx)
		}
		return x.e.step(t.Name, s.Name, s.Message, func() error { return s.Run(ctx) })
	}
	err := once()
	if err != nil && s.Retry != nil {
		if err = s.Retry(ctx, err); err == nil {
			err = once()
		}
	}
	return err
}

// undo runs the undos of ran, last first, after cause. They run to their
// end even if the push is interrupted: a host is never left half done.
func (x *executor) undo(ctx context.Context, t *platform.Target, ran []Step, cause error) error {
	uctx := context.WithoutCancel(ctx)
	for i := len(ran) - 1; i >= 0; i-- {
		u := ran[i].Undo
		if u == nil {
			continue
		}
		if u.Before != nil {
			if err := u.Before(uctx, cause); err != nil {
				return fmt.Errorf("%w; %v", cause, err)
			}
		}
		if err := x.e.step(t.Name, u.Name, u.Message, func() error { return u.Run(uctx) }); err != nil {
			return fmt.Errorf("%w; %s: %v", cause, u.Failed, err)
		}
		if u.OnDone != nil {
			u.OnDone()
		}
	}
	return cause
}

// runAll runs every host's list at once, at most limit hosts at a time
// (0: the engine's concurrency), and returns the errors per host. done,
// if not nil, is called for each host whose list succeeded.
func (x *executor) runAll(ctx context.Context, lists []hostSteps, limit int, done func(*platform.Target)) map[string]error {
	ts := make([]*platform.Target, len(lists))
	byHost := make(map[string][]Step, len(lists))
	for i, l := range lists {
		ts[i] = l.t
		byHost[l.t.Name] = l.steps
	}
	return x.e.forEach(ctx, ts, limit, func(ctx context.Context, t *platform.Target) error {
		// A host whose turn comes after an interrupt is left as it is.
		if err := ctx.Err(); err != nil {
			return err
		}
		err := x.runHost(ctx, t, byHost[t.Name])
		if err == nil && done != nil {
			done(t)
		}
		return err
	})
}

// stagedRun is a rollout: lists in stages, each stage a barrier.
type stagedRun struct {
	what     string // "push": what an interrupt stopped
	stages   [][]hostSteps
	parallel int // max_parallel
	budget   int // host failures tolerated (max_failures)
	// pause runs before every stage but the first.
	pause func(ctx context.Context, next, total int) error
}

// stagedResult is what a staged run did.
type stagedResult struct {
	done   []*platform.Target // hosts whose lists succeeded, in the order they did
	failed map[string]error   // every failed host
	// stop says why the run stopped before its last stage ended: the
	// pause's error, an interrupt, or more failures than the budget.
	stop error
}

// runStages runs the stages in order: every host of a stage runs its list
// (max_parallel at a time) before the next stage begins.
func (x *executor) runStages(ctx context.Context, r stagedRun) stagedResult {
	res := stagedResult{failed: map[string]error{}}
	var mu sync.Mutex
	for i, stage := range r.stages {
		if i > 0 && r.pause != nil {
			if err := r.pause(ctx, i, len(r.stages)); err != nil {
				res.stop = err
				return res
			}
		}
		var ts []*platform.Target
		for _, l := range stage {
			ts = append(ts, l.t)
		}
		x.e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("stage %d/%d: %s", i+1, len(r.stages), strings.Join(names(ts), ", "))})
		errs := x.runAll(ctx, stage, r.parallel, func(t *platform.Target) {
			mu.Lock()
			res.done = append(res.done, t)
			mu.Unlock()
		})
		for h, err := range errs {
			res.failed[h] = err
		}
		if ctx.Err() != nil {
			res.stop = &DeployError{Op: r.what + " interrupted", Hosts: errs, Err: ctx.Err()}
			return res
		}
		if len(res.failed) > r.budget {
			res.stop = &DeployError{
				Op:    fmt.Sprintf("stage %d/%d failed (%d host failures, %d tolerated)", i+1, len(r.stages), len(res.failed), r.budget),
				Hosts: errs}
			return res
		}
	}
	return res
}
