package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/engine"
	"github.com/plat-sh/plat/platform/release"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// The random kill trials (issue 13, item 2; the fault matrix in
// docs/faults.md). plat pushes the notes example to three real sshd hosts
// (rollout stages [1, "100%"]) and is killed — SIGKILL, or SIGINT as a
// terminal's ^C sends it — at a moment inside a chosen phase: the trial
// reads plat's own events (--json on stdout, and -v's debug lines on
// stderr for history and prune, which emit no step) and signals plat's
// process group when the phase begins plus a seeded random delay within
// the phase's length (measured on a calibration push). Every host is then
// checked, and the next push (or rollback) must succeed within a bound.
//
// By default a handful of trials run (make test); PLAT_FAULT_TRIALS=N runs
// N per phase, half of them SIGKILL and half SIGINT (make faults), and
// PLAT_FAULT_DOC=FILE rewrites the report section of that file.
// PLAT_FAULT_SEED=S replays a run's choices of trials and delays.

const (
	killTrialsEnv = "PLAT_FAULT_TRIALS"
	killSeedEnv   = "PLAT_FAULT_SEED"
	killDocEnv    = "PLAT_FAULT_DOC"
	// killShortTrials is how many trials run without PLAT_FAULT_TRIALS.
	killShortTrials = 6
	// killNextBound bounds the push or rollback after a kill: it must
	// not wait on a lock, or on anything else, for longer.
	killNextBound = 3 * time.Minute
	killEnv       = "fleet"
)

// The phases of each operation, in the order plat goes through them.
var (
	pushKillPhases     = []string{"connect and lock", "fetch", "build", "upload", "release task", "switch 1", "health 1", "switch 2", "health 2", "history", "prune"}
	rollbackKillPhases = []string{"connect and lock", "switch", "health", "history"}
)

// mark is one line plat wrote: an event on stdout or a log line on stderr.
type mark struct {
	at   time.Time
	ev   *platform.Event
	line string // stderr
}

// pushPhaseOf returns the index in pushKillPhases of the phase that m
// begins (len for the end of the push), or -1.
func pushPhaseOf(cur int, m mark) int {
	idx := func(name string) int { return slices.Index(pushKillPhases, name) }
	if e := m.ev; e != nil {
		start := e.Type == platform.EventStepStart
		switch {
		case start && e.Host == "localhost" && e.Step == "fetch":
			return idx("fetch")
		case start && e.Host == "localhost" && e.Step == "build":
			return idx("build")
		case start && strings.HasPrefix(e.Step, "upload "):
			return idx("upload")
		case start && e.Host != "localhost" && strings.HasPrefix(e.Step, "task "):
			return idx("release task")
		case e.Type == platform.EventLog && e.Host == "localhost" && strings.HasPrefix(e.Message, "stage 1/"):
			return idx("switch 1")
		case e.Type == platform.EventLog && e.Host == "localhost" && strings.HasPrefix(e.Message, "stage 2/"):
			return idx("switch 2")
		case start && e.Step == "health" && cur < idx("switch 2"):
			return idx("health 1")
		case start && e.Step == "health":
			return idx("health 2")
		case e.Type == platform.EventSummary:
			return len(pushKillPhases)
		}
		return -1
	}
	switch {
	case strings.Contains(m.line, `msg="recording history"`):
		return idx("history")
	case strings.Contains(m.line, "msg=pruning"):
		return idx("prune")
	}
	return -1
}

// rollbackPhaseOf is pushPhaseOf for rollbackKillPhases.
func rollbackPhaseOf(cur int, m mark) int {
	idx := func(name string) int { return slices.Index(rollbackKillPhases, name) }
	if e := m.ev; e != nil {
		switch {
		case e.Type == platform.EventStepStart && strings.HasPrefix(e.Step, "rollback "):
			return idx("switch")
		case e.Type == platform.EventStepStart && e.Step == "health":
			return idx("health")
		case e.Type == platform.EventSummary:
			return len(rollbackKillPhases)
		}
		return -1
	}
	if strings.Contains(m.line, `msg="recording history"`) {
		return idx("history")
	}
	return -1
}

// killOp is an operation the trials interrupt.
type killOp struct {
	name    string
	phases  []string
	phaseOf func(cur int, m mark) int
}

var (
	killPush     = killOp{"push", pushKillPhases, pushPhaseOf}
	killRollback = killOp{"rollback", rollbackKillPhases, rollbackPhaseOf}
)

// killPlan says when to signal: delay after phase begins.
type killPlan struct {
	phase string
	delay time.Duration
	sig   syscall.Signal
}

// watchedRun is one run of plat, perhaps killed.
type watchedRun struct {
	code     int
	stdout   string
	stderr   string
	evs      []platform.Event
	begins   map[string]time.Duration // phase -> when it began, since the start
	end      time.Duration            // when the operation ended (its summary)
	killed   bool
	killedIn string // the phase plat was in when it was signalled
	elapsed  time.Duration
	timedOut bool
}

// runWatched runs plat -v --json ARGS in its own process group, follows
// its phases, signals the group as plan says (nil: never), and kills it if
// it runs longer than bound.
func (p *project) runWatched(op killOp, plan *killPlan, bound time.Duration, args ...string) watchedRun {
	p.t.Helper()
	cmd := exec.Command(platBin, append([]string{"-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port), "-v", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), "CI=true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	marks := make(chan mark, 1024)
	var wg sync.WaitGroup
	read := func(r interface{ Read([]byte) (int, error) }, isOut bool) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			m := mark{at: time.Now(), line: sc.Text()}
			if isOut {
				var e platform.Event
				if json.Unmarshal(sc.Bytes(), &e) != nil {
					continue
				}
				m.ev, m.line = &e, sc.Text()
			}
			marks <- m
		}
	}
	wg.Add(2)
	go read(stdout, true)
	go read(stderr, false)
	go func() { wg.Wait(); close(marks) }()

	r := watchedRun{begins: map[string]time.Duration{op.phases[0]: 0}}
	var out, errb strings.Builder
	cur := 0
	var fire <-chan time.Time
	arm := func() {
		if plan != nil && !r.killed && fire == nil && cur < len(op.phases) && op.phases[cur] == plan.phase {
			fire = time.After(plan.delay)
		}
	}
	arm()
	deadline := time.After(bound)
	for marks != nil {
		select {
		case m, ok := <-marks:
			if !ok {
				marks = nil
				continue
			}
			if m.ev != nil {
				out.WriteString(m.line + "\n")
				r.evs = append(r.evs, *m.ev)
			} else {
				errb.WriteString(m.line + "\n")
			}
			if n := op.phaseOf(cur, m); n > cur {
				if n < len(op.phases) {
					r.begins[op.phases[n]] = m.at.Sub(start)
				} else {
					r.end = m.at.Sub(start)
				}
				cur = n
				arm()
			}
		case <-fire:
			fire = nil
			r.killed, r.killedIn = true, "after the end"
			if cur < len(op.phases) {
				r.killedIn = op.phases[cur]
			}
			_ = syscall.Kill(-cmd.Process.Pid, plan.sig)
		case <-deadline:
			deadline = nil
			r.timedOut = true
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	err = cmd.Wait()
	r.elapsed = time.Since(start)
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
		if r.code < 0 {
			r.code = 128 + int(ee.Sys().(syscall.WaitStatus).Signal())
		}
	} else if err != nil {
		p.t.Fatalf("run plat: %v", err)
	}
	r.stdout, r.stderr = out.String(), errb.String()
	return r
}

// windows turns a calibration run into each phase's length (until the
// next phase that began, or the end).
func (r watchedRun) windows(op killOp) map[string]time.Duration {
	w := map[string]time.Duration{}
	for i, ph := range op.phases {
		b, ok := r.begins[ph]
		if !ok {
			continue
		}
		next := r.end
		for _, later := range op.phases[i+1:] {
			if lb, ok := r.begins[later]; ok {
				next = lb
				break
			}
		}
		w[ph] = next - b
	}
	return w
}

// summaryRows returns the rows of the run's summary event.
func (r watchedRun) summaryRows() []platform.SummaryRow {
	for i := len(r.evs) - 1; i >= 0; i-- {
		if r.evs[i].Type == platform.EventSummary {
			return r.evs[i].Rows
		}
	}
	return nil
}

// began reports whether the run started a step with prefix on host.
func (r watchedRun) began(host, prefix string) bool {
	for _, e := range r.evs {
		if e.Type == platform.EventStepStart && e.Host == host && strings.HasPrefix(e.Step, prefix) {
			return true
		}
	}
	return false
}

// newRelease returns the release id the run uploaded or switched to.
func (r watchedRun) newRelease(op killOp) string {
	for _, e := range r.evs {
		if e.Type != platform.EventStepStart {
			continue
		}
		for _, pre := range []string{"upload ", "switch ", "rollback "} {
			if id, ok := strings.CutPrefix(e.Step, pre); ok && release.ValidID(id) {
				return id
			}
		}
	}
	return ""
}

// killStats are the outcomes of the trials of one operation and phase.
type killStats struct {
	trials, sigkill, sigint int
	landed                  int // killed while plat was in the phase
	finished                int // the run ended before the signal
	switched                int // hosts on the new release after the kill
	down                    int // hosts not serving after the kill
	staleLocks              int // locks a SIGKILL left, taken over by the next run
	nextOK                  int
	violations              int
	slowestNext             time.Duration
}

type killTrial struct {
	op    killOp
	phase string
	sig   syscall.Signal
}

// killTrialPlan lists the trials: n per phase and operation (alternating
// SIGKILL and SIGINT), or a handful drawn from all of them when n is 0;
// in a seeded random order.
func killTrialPlan(rng *rand.Rand, n int) []killTrial {
	var all []killTrial
	for _, op := range []killOp{killPush, killRollback} {
		for _, ph := range op.phases {
			reps := max(n, 2)
			for i := 0; i < reps; i++ {
				sig := syscall.SIGKILL
				if i%2 == 1 {
					sig = syscall.SIGINT
				}
				all = append(all, killTrial{op, ph, sig})
			}
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	if n == 0 {
		// Always at least one rollback trial among the handful.
		i := slices.IndexFunc(all, func(k killTrial) bool { return k.op.name == "rollback" })
		all[0], all[i] = all[i], all[0]
		all = all[:killShortTrials]
	}
	return all
}

func sigName(s syscall.Signal) string {
	if s == syscall.SIGINT {
		return "SIGINT"
	}
	return "SIGKILL"
}

func TestKillTrials(t *testing.T) {
	n := 0
	if s := os.Getenv(killTrialsEnv); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number of trials per phase", killTrialsEnv, s)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(killSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", killSeedEnv, s, err)
		}
	}
	t.Logf("kill trials: seed %d (%s=%d replays these trials and delays)", seed, killSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	began := time.Now()

	fleet, p, ports := killFleet(t, "  rollout {\n    stages = [1, \"100%\"]\n  }\n")
	k := &killer{t: t, p: p, fleet: fleet, ports: ports, store: &release.Store{Root: filepath.Join(p.dir, ".plat", "store")}}

	p.mustPlat("push", killEnv)
	k.cur = "r1"
	// Calibration: one push and one rollback measure each phase.
	p.write("VERSION", "calibration\n")
	cal := p.runWatched(killPush, nil, killNextBound, "push", killEnv)
	if cal.code != 0 {
		t.Fatalf("calibration push: exit %d\n%s", cal.code, cal.stderr)
	}
	k.other, k.cur = k.cur, cal.newRelease(killPush)
	k.expectOn(k.cur)
	calR := p.runWatched(killRollback, nil, killNextBound, "rollback", killEnv, k.other)
	if calR.code != 0 {
		t.Fatalf("calibration rollback: exit %d\n%s", calR.code, calR.stderr)
	}
	k.cur, k.other = k.other, k.cur
	k.expectOn(k.cur)
	windows := map[string]map[string]time.Duration{"push": cal.windows(killPush), "rollback": calR.windows(killRollback)}
	for _, op := range []killOp{killPush, killRollback} {
		for _, ph := range op.phases {
			if _, ok := windows[op.name][ph]; !ok {
				t.Fatalf("calibration %s never entered phase %q:\n%s%s", op.name, ph, cal.stdout, cal.stderr)
			}
		}
	}
	t.Logf("phase lengths: push %v; rollback %v", windows["push"], windows["rollback"])

	stats := map[string]*killStats{}
	trials := killTrialPlan(rng, n)
	ran := 0
	if doc := os.Getenv(killDocEnv); doc != "" {
		// Also after a failure that stops the trials: the table says so.
		defer func() { writeKillReport(t, doc, stats, n, ran, len(trials), seed, time.Since(began)) }()
	}
	for i, tr := range trials {
		ran++
		w := windows[tr.op.name][tr.phase]
		delay := time.Duration(rng.Float64() * float64(w))
		st := stats[tr.op.name+"\x00"+tr.phase]
		if st == nil {
			st = &killStats{}
			stats[tr.op.name+"\x00"+tr.phase] = st
		}
		label := fmt.Sprintf("trial %d/%d: %s killed by %s %v into %s (seed %d)", i+1, len(trials), tr.op.name, sigName(tr.sig), delay.Round(time.Millisecond), tr.phase, seed)
		k.trial(label, i, tr, &killPlan{phase: tr.phase, delay: delay, sig: tr.sig}, st)
		if t.Failed() && n == 0 {
			break
		}
	}
	t.Logf("%d trials in %s", ran, time.Since(began).Round(time.Second))
}

// killer runs trials on one fleet, keeping track of what it runs: cur on
// every host, other the release before (the rollback trials' target).
type killer struct {
	t          *testing.T
	p          *project
	fleet      *sshtest.Fleet
	ports      []int
	store      *release.Store
	cur, other string
}

func (k *killer) trial(label string, i int, tr killTrial, plan *killPlan, st *killStats) {
	t, p := k.t, k.p
	st.trials++
	if tr.sig == syscall.SIGINT {
		st.sigint++
	} else {
		st.sigkill++
	}
	old := k.cur
	switched0, down0 := st.switched, st.down
	var args []string
	if tr.op.name == "push" {
		p.write("VERSION", fmt.Sprintf("trial %d\n", i+1))
		args = []string{"push", killEnv}
	} else {
		args = []string{"rollback", killEnv, k.other}
	}
	r := p.runWatched(tr.op, plan, killNextBound, args...)
	fail := func(format string, a ...any) {
		st.violations++
		t.Errorf("%s: %s\nplat exit %d, killed in %q\nstderr:\n%s", label, fmt.Sprintf(format, a...), r.code, r.killedIn, tail(r.stderr, 40))
	}
	if r.timedOut {
		fail("plat ran longer than %s", killNextBound)
	}
	switch {
	case !r.killed:
		st.finished++
	case r.killedIn == plan.phase:
		st.landed++
	}
	newID := r.newRelease(tr.op)
	if tr.op.name == "rollback" {
		newID = k.other
	}
	step := "switch "
	if tr.op.name == "rollback" {
		step = "rollback "
	}

	// Every host: current is a complete release, old or new, whose files
	// match its manifest; a host plat did not begin to switch still
	// serves the old release.
	verified := k.verify()
	for i, h := range k.fleet.Hosts {
		cur, err := os.Readlink(filepath.Join(h.Root, "current"))
		id, _ := strings.CutPrefix(cur, "releases/")
		if err != nil || (id != old && id != newID) {
			fail("%s: current -> %q (%v), want releases/%s or releases/%s", h.Name, cur, err, old, newID)
			continue
		}
		if err := k.manifestMatches(h, id); err != nil {
			fail("%s: %v", h.Name, err)
		}
		if v, ok := verified[h.Name]; !ok || v != "" {
			fail("%s: status --verify: %s", h.Name, v)
		}
		if id == newID && newID != old {
			st.switched++
		}
		body, gerr := getPort(t, k.ports[i], "/")
		serving := gerr == nil && strings.Contains(body, "release "+id)
		if !serving {
			st.down++
		}
		if !r.began(h.Name, step) {
			if id != old || !serving {
				fail("%s: plat never began to switch it, but it is on %s and serving=%v (%v), want %s serving", h.Name, id, serving, gerr, old)
			}
		} else if tr.sig == syscall.SIGINT && !serving {
			fail("%s: after ^C it runs %s but does not serve it (%v)", h.Name, id, gerr)
		}
	}
	if tr.sig == syscall.SIGINT {
		// ^C lets plat record what it did: a host that runs the new
		// release has it in its history.
		for _, h := range k.fleet.Hosts {
			if cur, _ := os.Readlink(filepath.Join(h.Root, "current")); cur == "releases/"+newID && newID != old {
				if err := historyHas(h.Root, newID); err != nil {
					fail("%s: %v", h.Name, err)
				}
			}
		}
	}
	locked := false
	for _, h := range k.fleet.Hosts {
		if _, err := os.Stat(filepath.Join(h.Root, ".plat", "lock")); err == nil {
			locked = true
		}
	}
	if locked && tr.sig == syscall.SIGINT {
		fail("^C left the deploy lock behind")
	}

	// The next run succeeds within the bound, taking over a lock the kill
	// left, and every host serves its release.
	var next watchedRun
	if tr.op.name == "push" {
		next = p.runWatched(killPush, nil, killNextBound, "push", killEnv)
	} else {
		next = p.runWatched(killRollback, nil, killNextBound, "rollback", killEnv, k.other)
	}
	st.slowestNext = max(st.slowestNext, next.elapsed)
	if next.code != 0 || next.timedOut {
		fail("the next %s failed: exit %d (timed out: %v)\n%s", tr.op.name, next.code, next.timedOut, tail(next.stderr, 40))
		k.t.FailNow()
	}
	if locked {
		if !strings.Contains(next.stdout, "taking over the lock left by a push that died") {
			fail("the lock the kill left was not taken over by the next %s:\n%s", tr.op.name, tail(next.stdout, 20))
		}
		st.staleLocks++
	}
	id := k.other
	if tr.op.name == "push" {
		id = releaseIn(next)
		if id == "" && strings.Contains(next.stdout, "nothing to push: every host already runs this content") {
			// The killed push had switched every host.
			id = newID
		}
		if id == "" {
			fail("the next push reported no release:\n%s", tail(next.stdout, 20))
			k.t.FailNow()
		}
		k.other = old
	} else {
		k.other = old
	}
	k.cur = id
	if k.expectOn(id) {
		st.nextOK++
	} else {
		st.violations++
	}
	t.Logf("%s: killed in %q (exit %d), hosts on the new release %d, not serving %d, lock left %v; next %s %s in %s",
		label, r.killedIn, r.code, st.switched-switched0, st.down-down0, locked, tr.op.name, id, next.elapsed.Round(time.Millisecond))
}

// historyHas checks that the host's history records the switch to id.
func historyHas(root, id string) error {
	b, err := os.ReadFile(filepath.Join(root, ".plat", "history"))
	if err != nil {
		return fmt.Errorf("history: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		var h engine.HistoryEntry
		if json.Unmarshal([]byte(l), &h) == nil && h.Release == id && (h.Event == "deploy" || h.Event == "rollback") && h.Outcome == "ok" {
			return nil
		}
	}
	return fmt.Errorf("it runs %s but its history does not record it:\n%s", id, b)
}

// releaseIn returns the release every summary row reports ok, or "".
func releaseIn(r watchedRun) string {
	id := ""
	for _, row := range r.summaryRows() {
		if row.Status != "ok" || (id != "" && row.Release != id) {
			return ""
		}
		id = row.Release
	}
	return id
}

// expectOn checks every host runs and serves id and no lock is left.
func (k *killer) expectOn(id string) bool {
	k.t.Helper()
	ok := true
	for i, h := range k.fleet.Hosts {
		cur, _ := os.Readlink(filepath.Join(h.Root, "current"))
		if cur != "releases/"+id {
			k.t.Errorf("%s: current -> %q, want releases/%s", h.Name, cur, id)
			ok = false
		}
		if err := k.manifestMatches(h, id); err != nil {
			k.t.Errorf("%s: %v", h.Name, err)
			ok = false
		}
		if body, err := getPort(k.t, k.ports[i], "/"); err != nil || !strings.Contains(body, "release "+id) {
			k.t.Errorf("%s does not serve %s: %v\n%s", h.Name, id, err, body)
			ok = false
		}
		if _, err := os.Stat(filepath.Join(h.Root, ".plat", "lock")); err == nil {
			k.t.Errorf("%s is still locked", h.Name)
			ok = false
		}
	}
	return ok
}

// manifestMatches checks that release id on h has the manifest the local
// store recorded for it.
func (k *killer) manifestMatches(h *sshtest.Host, id string) error {
	rel, err := k.store.Get(killEnv, id)
	if err != nil {
		return fmt.Errorf("release %s is not in the local store: %v", id, err)
	}
	f, err := os.Open(filepath.Join(h.Root, "releases", id, ".plat", "manifest"))
	if err != nil {
		return fmt.Errorf("release %s: %v", id, err)
	}
	defer f.Close()
	m, err := release.Parse(f)
	if err != nil {
		return fmt.Errorf("release %s: manifest: %v", id, err)
	}
	if m.Hash() != rel.ManifestHash {
		return fmt.Errorf("release %s: the host's manifest is %s, the store recorded %s", id, m.Hash(), rel.ManifestHash)
	}
	return nil
}

// verify runs plat status --verify and returns, per host, "" for a clean
// current release or what is wrong (docs/json.md, plat status).
func (k *killer) verify() map[string]string {
	r := k.p.plat("--json", "status", killEnv, "--verify")
	var doc struct {
		Hosts []struct {
			Host  string `json:"host"`
			Error string `json:"error"`
			Drift *struct {
				Clean   bool     `json:"clean"`
				Changed []string `json:"changed"`
				Missing []string `json:"missing"`
				Extra   []string `json:"extra"`
			} `json:"drift"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		k.t.Errorf("status --verify: %v\n%s", err, r)
		return nil
	}
	out := map[string]string{}
	for _, row := range doc.Hosts {
		switch {
		case row.Error != "":
			out[row.Host] = row.Error
		case row.Drift == nil:
			out[row.Host] = "not verified"
		case !row.Drift.Clean:
			out[row.Host] = fmt.Sprintf("drift: changed %v, missing %v, extra %v", row.Drift.Changed, row.Drift.Missing, row.Drift.Extra)
		default:
			out[row.Host] = ""
		}
	}
	return out
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Markers of the section of docs/faults.md that make faults rewrites.
const (
	killReportBegin = "<!-- kill-trials:begin (make faults rewrites this section) -->"
	killReportEnd   = "<!-- kill-trials:end -->"
)

func writeKillReport(t *testing.T, path string, stats map[string]*killStats, perPhase, ran, planned int, seed uint64, took time.Duration) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, killReportBegin), strings.Index(s, killReportEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q and %q", path, killReportBegin, killReportEnd)
	}
	var r strings.Builder
	fmt.Fprintf(&r, "%s\n\nMeasured by `make faults` on %s: %d trials (%d per phase and operation, alternately SIGKILL and SIGINT), seed %d, %s.\n\n",
		killReportBegin, time.Now().UTC().Format("2006-01-02"), ran, perPhase, seed, took.Round(time.Second))
	if ran < planned || t.Failed() {
		fmt.Fprintf(&r, "**The run failed** after %d of %d trials: see the test's output.\n\n", ran, planned)
	}
	r.WriteString("| operation | phase | trials | SIGKILL / SIGINT | signal landed in the phase | ended before the signal | hosts left on the new release | hosts left not serving | locks left, taken over by the next run | next run ok | slowest next run | violations |\n")
	r.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, op := range []killOp{killPush, killRollback} {
		for _, ph := range op.phases {
			st := stats[op.name+"\x00"+ph]
			if st == nil {
				continue
			}
			fmt.Fprintf(&r, "| %s | %s | %d | %d / %d | %d | %d | %d | %d | %d | %d | %.1fs | %d |\n", op.name, ph, st.trials, st.sigkill, st.sigint,
				st.landed, st.finished, st.switched, st.down, st.staleLocks, st.nextOK, st.slowestNext.Seconds(), st.violations)
		}
	}
	r.WriteString("\n")
	s = s[:i] + r.String() + s[j:]
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ^C while plat records history: every host already switched, so the
// record is still written and the push ends as it would have. (The kill
// trials found it lost: the history command ran in the cancelled context.)
func TestInterruptWhileRecordingHistory(t *testing.T) {
	fleet, p, ports := killFleet(t, "")
	p.mustPlat("push", killEnv)
	p.write("VERSION", "2.0.0\n")
	r := p.runWatched(killPush, &killPlan{phase: "history", sig: syscall.SIGINT}, killNextBound, "push", killEnv)
	if !r.killed || r.killedIn != "history" {
		t.Fatalf("the signal did not land while plat recorded history (killed %v in %q):\n%s", r.killed, r.killedIn, r.stderr)
	}
	for _, h := range fleet.Hosts {
		if cur, _ := os.Readlink(filepath.Join(h.Root, "current")); cur != "releases/r2" {
			t.Fatalf("%s: current -> %q, want releases/r2", h.Name, cur)
		}
		if err := historyHas(h.Root, "r2"); err != nil {
			t.Errorf("%s: %v", h.Name, err)
		}
		if log, _ := os.ReadFile(filepath.Join(h.Root, "revisions.log")); !strings.Contains(string(log), "deployed as release r2 by") {
			t.Errorf("%s: revisions.log lacks r2:\n%s", h.Name, log)
		}
	}
	serves(t, ports, "release r2")
	assertUnlocked(t, fleet)
	if rel := p.mustPlat("releases", killEnv).stdout; !strings.Contains(rel, "r2 *") {
		t.Errorf("releases does not show r2 as current:\n%s", rel)
	}
}

// ^C as a rollback begins to switch the hosts: each host it began
// finishes (stop, switch, start, health check), so none is left with its
// processes stopped. (The kill trials found hosts left down: the
// activation ran in the cancelled context.)
func TestInterruptedRollbackLeavesNoHostDown(t *testing.T) {
	fleet, p, ports := killFleet(t, "")
	p.mustPlat("push", killEnv)
	p.write("VERSION", "2.0.0\n")
	p.mustPlat("push", killEnv)
	r := p.runWatched(killRollback, &killPlan{phase: "switch", sig: syscall.SIGINT}, killNextBound, "rollback", killEnv, "r1")
	if !r.killed {
		t.Fatalf("the rollback ended before it switched:\n%s", r.stderr)
	}
	for i, h := range fleet.Hosts {
		cur, _ := os.Readlink(filepath.Join(h.Root, "current"))
		id := strings.TrimPrefix(cur, "releases/")
		if r.began(h.Name, "rollback ") && id != "r1" {
			t.Errorf("%s began its rollback but runs %q", h.Name, id)
		}
		if body, err := getPort(t, ports[i], "/"); err != nil || !strings.Contains(body, "release "+id) {
			t.Errorf("%s runs %s but does not serve it after ^C: %v", h.Name, id, err)
		}
	}
	assertUnlocked(t, fleet)
	p.mustPlat("rollback", killEnv, "r1")
	serves(t, ports, "release r1")
}

// ^C while a switch waits for the old processes to drain: the stop runs
// to its end (TERM, drain timeout, KILL), so no process is left running
// untracked on the port. (The kill trials found one left: the stop, cut
// short after taking the pid file, lost the process, and neither the
// switch back nor any later push could start the app again.) The old
// release here ignores TERM, so the stop waits out the drain timeout.
func TestInterruptedSwitchLeavesNoUntrackedProcess(t *testing.T) {
	fleet, p, ports := killFleet(t, "  rollout {\n    drain_timeout = \"3s\"\n  }\n")
	app, err := os.ReadFile(filepath.Join(p.dir, "app.py"))
	if err != nil {
		t.Fatal(err)
	}
	term := "signal.signal(signal.SIGTERM, lambda *_: stop.set())"
	if !strings.Contains(string(app), term) {
		t.Fatal("examples/notes/app.py no longer handles TERM that way; update this test")
	}
	p.write("app.py", strings.Replace(string(app), term, "signal.signal(signal.SIGTERM, signal.SIG_IGN)", 1))
	p.mustPlat("push", killEnv)
	p.write("app.py", string(app))
	r := p.runWatched(killPush, &killPlan{phase: "switch 1", delay: time.Second, sig: syscall.SIGINT}, killNextBound, "push", killEnv)
	if !r.killed || r.killedIn != "switch 1" {
		t.Fatalf("the signal did not land in the switch (killed %v in %q):\n%s", r.killed, r.killedIn, r.stderr)
	}
	serves(t, ports, "release r1")
	assertUnlocked(t, fleet)
	next := p.mustPlat("push", killEnv)
	id := releaseOf(next.stdout)
	assertAllOn(t, fleet, id)
	serves(t, ports, "release "+id)
}

// A rollback killed in the middle of a host's switch can leave that host
// on the target release with its processes down; the same rollback run
// again must start them rather than skip the host as already current.
// (The kill trials found it skipped.) plat stop makes that state here.
func TestRollbackToTheCurrentReleaseStartsWhatIsDown(t *testing.T) {
	fleet, p, ports := killFleet(t, "")
	p.mustPlat("push", killEnv)
	p.write("VERSION", "2.0.0\n")
	p.mustPlat("push", killEnv)
	p.mustPlat("rollback", killEnv, "r1")
	p.mustPlat("stop", killEnv, "--host", fleet.Hosts[1].Name)
	if _, err := getPort(t, ports[1], "/"); err == nil {
		t.Fatal("host2 still serves after plat stop")
	}
	r := p.mustPlat("rollback", killEnv, "r1")
	if !strings.Contains(r.stdout, "already on r1, but processes of r1 are down") {
		t.Errorf("the rollback does not say it starts host2's processes:\n%s", r.stdout)
	}
	assertAllOn(t, fleet, "r1")
	serves(t, ports, "release r1")
}

// killFleet is the notes example on three sshd hosts as environment
// killEnv, with extra HCL in the environment; its processes are stopped
// when the test ends.
func killFleet(t *testing.T, extra string) (*sshtest.Fleet, *project, []int) {
	t.Helper()
	fleet := sshtest.New(t, 3)
	p := newProject(t)
	ports := p.sshEnv(fleet, extra)
	t.Cleanup(func() { p.plat("down", killEnv) })
	return fleet, p, ports
}
