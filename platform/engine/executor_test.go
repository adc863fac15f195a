package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
)

// cmdStep is a step that runs `name` on its host.
func cmdStep(t *platform.Target, name string) Step {
	return Step{Name: name, Does: name, Run: func(ctx context.Context) error {
		_, err := run(ctx, t, &platform.Command{Args: []string{name}})
		return err
	}}
}

func withUndo(s Step, t *platform.Target, name string) Step {
	s.Undo = &Undo{Name: name, Does: name, Failed: name + " also failed", Run: func(ctx context.Context) error {
		_, err := run(ctx, t, &platform.Command{Args: []string{name}})
		return err
	}}
	return s
}

// failOn makes the fleetRecorder fail the commands named.
func failOn(names ...string) func(string, []string) (string, error) {
	return func(_ string, args []string) (string, error) {
		if slices.Contains(names, args[0]) {
			return "", &platform.ExitError{Code: 1}
		}
		return "", nil
	}
}

func TestExecutorRunsAListInOrderAndJournalsIt(t *testing.T) {
	e, evs := testEngine(t)
	ts, log := recordingFleet(1, nil)
	h := ts[0]
	var journal []string
	x := &executor{e: e, journal: func(_ context.Context, t *platform.Target, rec string) { journal = append(journal, t.Name+" "+rec) }}
	a := cmdStep(h, "a")
	a.Journal = "did-a"
	b := cmdStep(h, "b")
	b.Quiet = true
	c := cmdStep(h, "c")
	c.Journal = "did-c"
	done := 0
	c.OnDone = func() { done++ }
	if err := x.runHost(context.Background(), h, []Step{a, b, c}); err != nil {
		t.Fatal(err)
	}
	if got, want := log.on("web1"), []string{"a", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
	if want := []string{"web1 did-a", "web1 did-c"}; !reflect.DeepEqual(journal, want) {
		t.Errorf("journal %q, want %q", journal, want)
	}
	// The quiet step has no events.
	if got, want := evs.steps("web1"), []string{"start a", "end a ok", "start c", "end c ok"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if done != 1 {
		t.Errorf("OnDone ran %d times", done)
	}
}

func TestExecutorSkipsWhatTheJournalHasOnResume(t *testing.T) {
	e, _ := testEngine(t)
	ts, log := recordingFleet(2, nil)
	x := &executor{e: e, records: map[string]map[string]bool{"web1": {"switched": true}}}
	lists := []hostSteps{}
	for _, h := range ts {
		up := cmdStep(h, "upload")
		up.Skip = "switched"
		sw := cmdStep(h, "switch")
		sw.Skip, sw.Journal = "switched", "switched"
		lists = append(lists, hostSteps{h, []Step{up, sw}})
	}
	if errs := x.runAll(context.Background(), lists, 0, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := log.on("web1"); len(got) != 0 {
		t.Errorf("web1 switched before: ran %q", got)
	}
	if got, want := log.on("web2"), []string{"upload", "switch"}; !reflect.DeepEqual(got, want) {
		t.Errorf("web2 ran %q, want %q", got, want)
	}
}

func TestExecutorUndoesInReverseOnFailure(t *testing.T) {
	e, evs := testEngine(t)
	ts, log := recordingFleet(1, failOn("health"))
	h := ts[0]
	var journal []string
	x := &executor{e: e, journal: func(_ context.Context, _ *platform.Target, rec string) { journal = append(journal, rec) }}
	var failedWith error
	up := withUndo(cmdStep(h, "upload"), h, "remove upload")
	sw := withUndo(cmdStep(h, "switch"), h, "switch back")
	health := cmdStep(h, "health")
	health.Journal = "switched"
	health.OnFail = func(err error) { failedWith = err }
	after := cmdStep(h, "prune")
	record := cmdStep(h, "record")
	record.Always = true
	err := x.runHost(context.Background(), h, []Step{up, sw, health, after, record})
	var he *HostError
	if !errors.As(err, &he) || he.Step != "health" {
		t.Fatalf("error %v, want the health step's", err)
	}
	if failedWith == nil {
		t.Error("OnFail was not called")
	}
	// Undos last first; the step after the failure does not run, the
	// Always one does.
	if got, want := log.on("web1"), []string{"upload", "switch", "health", "switch back", "remove upload", "record"}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
	if len(journal) != 0 {
		t.Errorf("a failed step was journaled: %q", journal)
	}
	want := []string{"start upload", "end upload ok", "start switch", "end switch ok", "start health", "end health failed",
		"start switch back", "end switch back ok", "start remove upload", "end remove upload ok", "start record", "end record ok"}
	if got := evs.steps("web1"); !reflect.DeepEqual(got, want) {
		t.Errorf("events\n%q\nwant\n%q", got, want)
	}
}

func TestExecutorSaysWhatAnUndoCouldNotDo(t *testing.T) {
	e, _ := testEngine(t)
	ts, _ := recordingFleet(1, failOn("switch", "switch back"))
	h := ts[0]
	x := &executor{e: e}
	err := x.runHost(context.Background(), h, []Step{withUndo(cmdStep(h, "switch"), h, "switch back")})
	if err == nil || !strings.Contains(err.Error(), "switch back also failed") {
		t.Fatalf("error %v, want the undo's failure in it", err)
	}
	var he *HostError
	if !errors.As(err, &he) || he.Step != "switch" {
		t.Errorf("error %v does not wrap the switch's", err)
	}

	// An undo whose Before fails (the host cannot be reached) runs no command.
	ts, log := recordingFleet(1, failOn("switch"))
	h = ts[0]
	s := withUndo(cmdStep(h, "switch"), h, "switch back")
	s.Undo.Before = func(context.Context, error) error { return errors.New("unreachable") }
	err = x.runHost(context.Background(), h, []Step{s})
	if err == nil || !strings.HasSuffix(err.Error(), "; unreachable") {
		t.Errorf("error %v, want Before's", err)
	}
	if got, want := log.on("web1"), []string{"switch"}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
}

func TestExecutorUndoesAfterAnInterrupt(t *testing.T) {
	e, _ := testEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	ts, log := recordingFleet(1, nil)
	h := ts[0]
	x := &executor{e: e}
	sw := withUndo(cmdStep(h, "switch"), h, "switch back")
	health := Step{Name: "health", Run: func(ctx context.Context) error {
		cancel() // ^C while the health check runs
		return ctx.Err()
	}}
	var undoCtxErr error
	sw.Undo.Run = func(ctx context.Context) error {
		undoCtxErr = ctx.Err()
		_, err := run(ctx, h, &platform.Command{Args: []string{"switch back"}})
		return err
	}
	if err := x.runHost(ctx, h, []Step{sw, health}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want the interrupt", err)
	}
	if undoCtxErr != nil {
		t.Errorf("the undo ran with a cancelled context: %v", undoCtxErr)
	}
	if got, want := log.on("web1"), []string{"switch", "switch back"}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
}

func TestExecutorRetriesWhenRetrySaysSo(t *testing.T) {
	e, evs := testEngine(t)
	var n atomic.Int32
	ts, log := recordingFleet(1, func(string, []string) (string, error) {
		if n.Add(1) == 1 {
			return "", platform.ErrConnectionLost
		}
		return "", nil
	})
	h := ts[0]
	s := cmdStep(h, "rollback r1")
	var asked error
	s.Retry = func(_ context.Context, err error) error {
		asked = err
		return nil
	}
	if err := (&executor{e: e}).runHost(context.Background(), h, []Step{s}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(asked, platform.ErrConnectionLost) {
		t.Errorf("Retry was asked with %v", asked)
	}
	if got := log.on("web1"); len(got) != 2 {
		t.Errorf("commands %q, want two tries", got)
	}
	if got, want := evs.steps("web1"), []string{"start rollback r1", "end rollback r1 failed", "start rollback r1", "end rollback r1 ok"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// stagedFleet is one list per host: a step that notes when it ran and
// fails on the hosts in fail.
func stagedFleet(ts []*platform.Target, fail map[string]bool, mu *sync.Mutex, order *[]string, inFlight, most *int) [][]hostSteps {
	list := func(t *platform.Target) hostSteps {
		return hostSteps{t, []Step{{Name: "switch", Run: func(ctx context.Context) error {
			mu.Lock()
			*inFlight++
			*most = max(*most, *inFlight)
			*order = append(*order, t.Name)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			*inFlight--
			mu.Unlock()
			if fail[t.Name] {
				return errors.New("unhealthy")
			}
			return nil
		}}}}
	}
	plan, _ := stages([]string{"1", "100%"}, ts)
	var out [][]hostSteps
	for _, st := range plan {
		var ls []hostSteps
		for _, t := range st {
			ls = append(ls, list(t))
		}
		out = append(out, ls)
	}
	return out
}

func TestExecutorStagesAreBarriersAndMaxParallelHolds(t *testing.T) {
	e, evs := testEngine(t)
	ts, _ := recordingFleet(5, nil)
	var mu sync.Mutex
	var order []string
	inFlight, most := 0, 0
	var pauses []string
	res := (&executor{e: e}).runStages(context.Background(), stagedRun{what: "push", parallel: 2,
		stages: stagedFleet(ts, nil, &mu, &order, &inFlight, &most),
		pause: func(_ context.Context, next, total int) error {
			mu.Lock()
			defer mu.Unlock()
			pauses = append(pauses, fmt.Sprintf("%d/%d after %d hosts", next+1, total, len(order)))
			return nil
		}})
	if res.stop != nil || len(res.failed) > 0 || len(res.done) != 5 {
		t.Fatalf("%+v", res)
	}
	if order[0] != "web1" {
		t.Errorf("stage 1 is web1, ran %q", order)
	}
	if want := []string{"2/2 after 1 hosts"}; !reflect.DeepEqual(pauses, want) {
		t.Errorf("pauses %q, want %q (stage 2 waits for stage 1)", pauses, want)
	}
	if most != 2 {
		t.Errorf("at most %d hosts at once, want 2 (max_parallel)", most)
	}
	if got := evs.logs(); len(got) != 2 || got[0] != "stage 1/2: web1" || got[1] != "stage 2/2: web2, web3, web4, web5" {
		t.Errorf("stage lines %q", got)
	}
}

func TestExecutorStopsPastTheFailureBudget(t *testing.T) {
	e, _ := testEngine(t)
	ts, _ := recordingFleet(4, nil)
	var mu sync.Mutex
	var order []string
	inFlight, most := 0, 0
	res := (&executor{e: e}).runStages(context.Background(), stagedRun{what: "push", budget: 0,
		stages: stagedFleet(ts, map[string]bool{"web1": true}, &mu, &order, &inFlight, &most)})
	if res.stop == nil || !strings.Contains(res.stop.Error(), "stage 1/2 failed (1 host failures, 0 tolerated)") {
		t.Fatalf("stop %v", res.stop)
	}
	if len(order) != 1 {
		t.Errorf("ran %q after stage 1 failed", order)
	}

	// Within the budget every stage runs and the failure is reported.
	order = nil
	res = (&executor{e: e}).runStages(context.Background(), stagedRun{what: "push", budget: 1,
		stages: stagedFleet(ts, map[string]bool{"web2": true}, &mu, &order, &inFlight, &most)})
	if res.stop != nil || len(order) != 4 || res.failed["web2"] == nil || len(res.done) != 3 {
		t.Errorf("%+v, ran %q", res, order)
	}
}

func TestExecutorStopsAtAPauseThatSaysNo(t *testing.T) {
	e, _ := testEngine(t)
	ts, _ := recordingFleet(3, nil)
	var mu sync.Mutex
	var order []string
	inFlight, most := 0, 0
	no := errors.New("stopped at the user's request")
	res := (&executor{e: e}).runStages(context.Background(), stagedRun{what: "push",
		stages: stagedFleet(ts, nil, &mu, &order, &inFlight, &most),
		pause:  func(context.Context, int, int) error { return no }})
	if !errors.Is(res.stop, no) || len(res.done) != 1 || len(order) != 1 {
		t.Errorf("%+v, ran %q", res, order)
	}
}

func TestExecutorInterruptStopsBeforeTheNextStage(t *testing.T) {
	e, _ := testEngine(t)
	ts, _ := recordingFleet(3, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var ran []string
	var mu sync.Mutex
	list := func(t *platform.Target) hostSteps {
		return hostSteps{t, []Step{{Name: "switch", Run: func(ctx context.Context) error {
			mu.Lock()
			ran = append(ran, t.Name)
			mu.Unlock()
			cancel() // ^C during the first stage
			return nil
		}}}}
	}
	res := (&executor{e: e}).runStages(ctx, stagedRun{what: "push",
		stages: [][]hostSteps{{list(ts[0])}, {list(ts[1]), list(ts[2])}}})
	var de *DeployError
	if !errors.As(res.stop, &de) || de.Op != "push interrupted" || !errors.Is(res.stop, context.Canceled) {
		t.Fatalf("stop %v, want the interrupt", res.stop)
	}
	if len(ran) != 1 || len(res.done) != 1 {
		t.Errorf("ran %q, done %d: the next stage began after the interrupt", ran, len(res.done))
	}
	// Hosts not begun when the push is interrupted fail with the interrupt.
	errs := (&executor{e: e}).runAll(ctx, []hostSteps{list(ts[1])}, 0, nil)
	if !errors.Is(errs["web2"], context.Canceled) || len(ran) != 1 {
		t.Errorf("errs %v, ran %q", errs, ran)
	}
}
