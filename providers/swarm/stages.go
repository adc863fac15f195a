package swarm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
)

// A rollout with pause = "confirm" has no equivalent in the engine's
// update config (it goes from batch to batch on a timer). plat drives it
// instead: each stage is an update of the service to the release's spec
// whose batch is the stage's new tasks and whose delay holds the engine
// after that batch (holdDelay); once they run, plat asks, then updates
// the update config again for the next stage (the engine only replaces
// tasks that do not run the spec yet). The engine's own rollback would go
// back to the previous stage's spec, so a staged update fails by pausing
// and plat puts the spec it replaced back itself.

// holdDelay is the engine's delay after a stage's batch: longer than any
// answer takes, and than any halt is left for a look (a push stopped by
// halt keeps the other tasks on the previous release until another push
// or rollback replaces the update; only after holdDelay would the engine
// go on by itself).
const holdDelay = 365 * 24 * time.Hour

// stageCounts are the cumulative task counts of the rollout's stages
// for replicas tasks; the last is always replicas.
func stageCounts(stages []string, replicas int) []int {
	var out []int
	for _, s := range stages {
		s = strings.TrimSpace(s)
		n := 0
		if pct, ok := strings.CutSuffix(s, "%"); ok {
			if v, err := strconv.ParseFloat(pct, 64); err == nil {
				n = int(math.Ceil(v * float64(replicas) / 100))
			}
		} else if v, err := strconv.Atoi(s); err == nil {
			n = v
		}
		n = min(n, replicas)
		if n > 0 && (len(out) == 0 || n > out[len(out)-1]) {
			out = append(out, n)
		}
	}
	if len(out) == 0 || out[len(out)-1] < replicas {
		out = append(out, replicas)
	}
	return out
}

// batches splits each stage into the updates plat makes: at most
// max_parallel new tasks each (0: the whole stage at once).
func batches(counts []int, maxParallel int) [][]int {
	out := make([][]int, len(counts))
	done := 0
	for i, upto := range counts {
		for done < upto {
			step := upto - done
			if maxParallel > 0 {
				step = min(step, maxParallel)
			}
			done += step
			out[i] = append(out[i], done)
		}
	}
	return out
}

// confirmStages reports whether proc's update asks between stages: the
// rollout says confirm, plat can ask, and the service has more than one
// stage.
func (d *deploy) confirmStages(proc string) bool {
	return d.req.Rollout.Confirm && d.req.Confirm != nil && len(stageCounts(d.req.Rollout.Stages, d.p.replicas(proc))) > 1
}

// applyStaged updates the existing service cur of proc stage by stage,
// asking before each stage after the first. On a failure or a "no" it
// puts cur's spec back (on_failure = "rollback") or leaves the service as
// it is (halt).
func (d *deploy) applyStaged(ctx context.Context, proc string, cur swarm.Service) error {
	replicas := d.p.replicas(proc)
	counts := stageCounts(d.req.Rollout.Stages, replicas)
	plan := batches(counts, d.req.Rollout.MaxParallel)
	spec := d.serviceSpec(proc, cur)
	name := spec.Name
	fail := func(err error) error {
		if d.req.Rollout.OnFailure == platform.OnFailureHalt {
			return err
		}
		if rerr := d.restore(context.WithoutCancel(ctx), cur); rerr != nil {
			return fmt.Errorf("%w; putting %s back on %s failed too: %v", err, name, cur.Spec.Labels[LabelRelease], rerr)
		}
		var re *platform.RolloutError
		if errors.As(err, &re) {
			re.State = "rolled back"
			return re
		}
		return &platform.RolloutError{Service: name, State: "rolled back", Reason: err.Error()}
	}
	for i, stage := range plan {
		if i > 0 {
			q := fmt.Sprintf("Continue with stage %d/%d of %s on service %s (%d of %d tasks run it)?", i+1, len(plan), d.req.Release.ID, name, counts[i-1], replicas)
			ok, err := d.req.Confirm(ctx, q)
			if err != nil {
				return fail(fmt.Errorf("service %s: stage %d/%d: %w", name, i+1, len(plan), err))
			}
			if !ok {
				err := &platform.RolloutError{Service: name, State: "paused", Reason: fmt.Sprintf("stopped at the user's request before stage %d/%d (%d of %d tasks run %s)", i+1, len(plan), counts[i-1], replicas, d.req.Release.ID)}
				if d.req.Rollout.OnFailure == platform.OnFailureHalt {
					return fmt.Errorf("service %s: halted at the user's request before stage %d/%d: %d of %d tasks run %s, the others %s (on_failure = \"halt\": the engine holds them there; push again or plat rollback)",
						name, i+1, len(plan), counts[i-1], replicas, d.req.Release.ID, cur.Spec.Labels[LabelRelease])
				}
				return fail(err)
			}
		}
		d.log(fmt.Sprintf("stage %d/%d: service %s, %d of %d tasks on %s", i+1, len(plan), name, counts[i], replicas, d.req.Release.ID))
		prev := 0
		if i > 0 {
			prev = counts[i-1]
		}
		for _, upto := range stage {
			last := i == len(plan)-1 && upto == replicas
			if err := d.updateBatch(ctx, cur.ID, spec, upto-prev, last); err != nil {
				return fail(err)
			}
			if err := d.waitRunning(ctx, cur.ID, name, upto); err != nil {
				return fail(err)
			}
			prev = upto
		}
	}
	return d.wait(ctx, cur.ID, proc)
}

// updateBatch sets the service to spec with a batch of n tasks, held
// after the batch unless it is the last.
func (d *deploy) updateBatch(ctx context.Context, id string, spec swarm.ServiceSpec, n int, last bool) error {
	insp, err := d.c.API().ServiceInspect(ctx, id, client.ServiceInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect service %s: %w", spec.Name, err)
	}
	u := *spec.UpdateConfig
	u.Parallelism = uint64(n)
	u.FailureAction = swarm.UpdateFailureActionPause
	u.Delay = holdDelay
	if last {
		u.Delay = 0
	}
	spec.UpdateConfig = &u
	if _, err := d.c.API().ServiceUpdate(ctx, id, client.ServiceUpdateOptions{Version: insp.Service.Version, Spec: spec}); err != nil {
		return fmt.Errorf("update service %s: %w", spec.Name, err)
	}
	return nil
}

// waitRunning waits until n tasks of the service run the release (and
// still do after the monitor period), or the engine paused the update.
func (d *deploy) waitRunning(ctx context.Context, id, name string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, d.rolloutTimeout(n))
	defer cancel()
	var since time.Time
	for {
		insp, err := d.c.API().ServiceInspect(ctx, id, client.ServiceInspectOptions{})
		if err != nil {
			return d.waitErr(ctx, name, err)
		}
		if u := insp.Service.UpdateStatus; u != nil && (u.State == swarm.UpdateStatePaused || u.State == swarm.UpdateStateRollbackPaused) {
			return &platform.RolloutError{Service: name, State: "paused", Reason: u.Message}
		}
		running, err := d.runningOn(ctx, id, d.req.Release.ID)
		if err != nil {
			return d.waitErr(ctx, name, err)
		}
		switch {
		case running < n:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		case time.Since(since) >= monitor(d.req.Health):
			return nil
		}
		select {
		case <-ctx.Done():
			return d.waitErr(ctx, name, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// restore puts the service back on the spec it ran before this deploy,
// recording the deploy as rolled back, and waits for every task to run
// that release again.
func (d *deploy) restore(ctx context.Context, before swarm.Service) error {
	insp, err := d.c.API().ServiceInspect(ctx, before.ID, client.ServiceInspectOptions{})
	if err != nil {
		return err
	}
	spec := before.Spec
	spec.Labels = cloneLabels(spec.Labels)
	spec.Labels[LabelHistory] = appendHistory(before.Spec.Labels[LabelHistory], platform.Deployment{Event: d.req.Event, Release: d.req.Release.ID,
		Previous: d.req.Previous, Time: d.at.Add(time.Second), Pusher: d.req.Release.Pusher, GitSHA: d.req.Release.GitSHA,
		ManifestHash: d.req.Release.ManifestHash, Outcome: "rolled back"})
	if u := spec.UpdateConfig; u != nil {
		c := *u
		c.Delay = 0 // no hold (nor pause) on the way back
		spec.UpdateConfig = &c
	}
	old := spec.Labels[LabelRelease]
	d.log(fmt.Sprintf("putting service %s back on %s", spec.Name, old))
	if _, err := d.c.API().ServiceUpdate(ctx, before.ID, client.ServiceUpdateOptions{Version: insp.Service.Version, Spec: spec}); err != nil {
		return err
	}
	replicas := 0
	if spec.Mode.Replicated != nil && spec.Mode.Replicated.Replicas != nil {
		replicas = int(*spec.Mode.Replicated.Replicas)
	}
	wctx, cancel := context.WithTimeout(ctx, d.rolloutTimeout(replicas))
	defer cancel()
	for {
		n, err := d.runningOn(wctx, before.ID, old)
		if err == nil && n >= replicas {
			if other, _ := d.runningOther(wctx, before.ID, old); other == 0 {
				return nil
			}
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("service %s: not every task ran %s again in time", spec.Name, old)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// runningOther counts the service's running tasks of another release.
func (d *deploy) runningOther(ctx context.Context, id, release string) (int, error) {
	ts, err := d.c.API().TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", id).Add("desired-state", "running")})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range ts.Items {
		if t.Status.State == swarm.TaskStateRunning && t.Spec.ContainerSpec != nil && t.Spec.ContainerSpec.Labels[LabelRelease] != release {
			n++
		}
	}
	return n, nil
}
