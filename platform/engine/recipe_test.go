package engine

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/platform/release"
)

var update = flag.Bool("update", false, "rewrite the golden step lists in testdata/steps")

// goldenSteps compares got with testdata/steps/name.golden.
func goldenSteps(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "steps", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("step lists differ from %s (go test -update rewrites it if the change is meant):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// stepScriptNames names hostcmd's scripts by their text, so that a recording
// says "switch r2" rather than a page of shell.
var stepScriptNames = map[string]string{}

func init() {
	u := hostcmd.Units{App: "app", Env: "prod", Host: "h", DeployTo: "/d", Release: "r1", Procs: map[string]string{"web": "x"}}
	for name, cmd := range map[string]*platform.Command{
		"switch": hostcmd.Switch("", ""), "unswitch": hostcmd.Unswitch("", ""), "stop": hostcmd.Stop("", 0, ""),
		"start": hostcmd.Start("", "", "", nil), "record": hostcmd.Record("", "", ""), "prune": hostcmd.Prune("", 0, "", ""),
		"journal": hostcmd.Journal("", ""), "listen": hostcmd.Owns("", "", "", 0, 0), "logs": hostcmd.Logs("", 0, false),
		"run": hostcmd.InDir("", nil), "prepare": hostcmd.Prepare("", "", ""), "finish": hostcmd.Finish("", "", "", "", nil),
		"write-secrets": hostcmd.WriteSecrets("", ""),
		"promote":       hostcmd.Promote("", ""), "systemd-install": hostcmd.SystemdInstall(u), "systemd-restart": hostcmd.SystemdStart(),
		"systemd-stop": hostcmd.SystemdStop("", "", ""), "read-journal": hostcmd.ReadJournal("", ""),
	} {
		if len(cmd.Args) > 2 && cmd.Args[0] == "sh" {
			stepScriptNames[cmd.Args[2]] = name
		}
	}
}

// fakeHost answers the commands a push sends as a host would, in
// outline: it keeps which release is current, and fails the health
// check command while a release in bad is current.
type fakeHost struct {
	mu      sync.Mutex
	current string
	bad     map[string]bool
	journal []string
}

// describe turns a recorded argv into a short line: the script's name
// and the arguments that tell what it did.
func describe(args []string) string {
	if len(args) < 4 || args[0] != "sh" || args[1] != "-c" {
		if args[0] == "cat" {
			return "read " + filepath.Base(filepath.Dir(args[1])) + "/Procfile"
		}
		return strings.Join(args, " ")
	}
	name, ok := stepScriptNames[args[2]]
	if !ok {
		return "script?"
	}
	a := args[4:]
	switch name {
	case "switch", "unswitch":
		return name + " " + a[1]
	case "start":
		var types []string
		for i := 3; i+1 < len(a); i += 2 {
			types = append(types, a[i])
		}
		return fmt.Sprintf("start %s%s %s", a[1], a[2], strings.Join(types, ","))
	case "stop":
		return strings.Join(slices.DeleteFunc(append([]string{"stop"}, a[2:]...), func(s string) bool { return s == "" }), " ")
	case "journal":
		return "journal " + strings.Fields(a[1])[2]
	case "run":
		return "run " + strings.Join(a[1:], " ") + " in " + filepath.Base(a[0])
	case "prune":
		return "prune keep " + a[1]
	case "listen": // one script: waiting for a new generation, or the health gate's proof
		if a[5] == "exclusive" {
			return "owns " + a[1]
		}
		return "wait-listen " + a[1] + a[2]
	}
	return name
}

func (h *fakeHost) reply(args []string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := describe(args)
	switch {
	case strings.HasPrefix(d, "switch "):
		h.current = strings.TrimPrefix(d, "switch ")
	case strings.HasPrefix(d, "unswitch "):
		h.current = ""
	case strings.HasPrefix(d, "journal "):
		h.journal = append(h.journal, args[5])
	case d == "read-journal":
		var out []string
		for _, l := range h.journal {
			if strings.HasPrefix(l, args[5]+" ") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n") + "\n", nil
	case strings.HasPrefix(d, "read "):
		return "web: ./app\n", nil
	case strings.HasPrefix(d, "run check in current") && h.bad[h.current]:
		return "", &platform.ExitError{Code: 1}
	}
	return "", nil
}

// testPush is a push of release r2 (or r1 on empty hosts) to n hosts over
// recorders, past its build: the release and its manifest are in the
// local store, the hosts' states read.
type testPush struct {
	*push
	log   *commandLog
	evs   *eventLog
	hosts map[string]*fakeHost
}

// newTestPush makes the push; current is what every host runs ("" none:
// a first push), bad the releases whose health check fails.
func newTestPush(t *testing.T, n int, current string, bad ...string) *testPush {
	t.Helper()
	e, evs := testEngine(t)
	e.Now = func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }
	e.AgeIdentity = filepath.Join(t.TempDir(), "age.key")
	app := e.Project.App
	app.Tasks = []platform.Task{{Name: "migrate", When: platform.PhaseRelease, Run: []string{"./migrate"}}}
	env := &platform.Environment{Name: "prod", KeepReleases: 3,
		Rollout: platform.Rollout{Stages: []string{"1", "100%"}, Health: &platform.HealthCheck{Command: []string{"check"}, Retries: 1, Interval: time.Millisecond}}}
	platform.FillEnvironmentDefaults(app, env) // as environments.Load does

	mk := func(id, version string) (*release.Release, *release.Manifest) {
		dir := t.TempDir()
		for name, body := range map[string]string{"Procfile": "web: ./app\n", "app": "#!/bin/sh\n", "VERSION": version} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		man, err := release.Scan(dir, release.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store().AddTree(dir, man); err != nil {
			t.Fatal(err)
		}
		files, size := man.Files()
		rel := &release.Release{ID: id, Env: "prod", App: "app", GitSHA: "0123456789abcdef", GitRef: "main", ManifestHash: man.Hash(),
			Processes: map[string]string{"web": "./app"}, Files: files, Size: size}
		if err := e.store().Record(rel, man); err != nil {
			t.Fatal(err)
		}
		if err := e.store().RecordSecrets("prod", id, nil); err != nil {
			t.Fatal(err)
		}
		return rel, man
	}
	id := "r1"
	var curMan *release.Manifest
	if current != "" {
		_, curMan = mk(current, "1\n")
		id = "r2"
	}
	rel, man := mk(id, "2\n")

	hosts := map[string]*fakeHost{}
	ts, log := recordingFleet(n, func(host string, args []string) (string, error) { return hosts[host].reply(args) })
	states := map[string]*hostState{}
	for _, tg := range ts {
		hosts[tg.Name] = &fakeHost{current: current, bad: map[string]bool{}}
		for _, b := range bad {
			hosts[tg.Name].bad[b] = true
		}
		st := &hostState{}
		if current != "" {
			st.Current, st.Releases, st.manifest = current, []string{current}, curMan
		}
		states[tg.Name] = st
	}
	p := &push{e: e, env: env, targets: ts, id: "r2-push", rel: rel, man: man, states: states, start: e.now(),
		rows: map[string]*platform.SummaryRow{}, prev: map[string]string{}, done: map[string]bool{},
		history: map[string]platform.Outcome{}, stranded: map[string]bool{}}
	return &testPush{push: p, log: log, evs: evs, hosts: hosts}
}

// planText is the push's step lists as --plan prints them.
func (tp *testPush) planText() string {
	var b strings.Builder
	for _, g := range tp.planSteps() {
		fmt.Fprintf(&b, "Steps on %s (stage %d):\n", strings.Join(g.Hosts, ", "), g.Stage)
		writeSteps(&b, g.Steps)
	}
	return b.String()
}

// recording is what each host ran, one describe line per command.
func (tp *testPush) recording() string {
	var b strings.Builder
	for _, t := range tp.targets {
		fmt.Fprintf(&b, "%s:\n", t.Name)
		for _, c := range tp.log.argsOn(t.Name) {
			fmt.Fprintf(&b, "  %s\n", describe(c))
		}
	}
	return b.String()
}

// rows is the summary table as "host release status (note)".
func (tp *testPush) rowsText() string {
	var b strings.Builder
	for _, r := range tp.result().Rows {
		fmt.Fprintf(&b, "%s %s %s", r.Host, r.Release, r.Status)
		if r.Note != "" {
			fmt.Fprintf(&b, " (%s)", r.Note)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestStepsFirstPush(t *testing.T) {
	tp := newTestPush(t, 2, "")
	goldenSteps(t, "first-push", tp.planText())
}

func TestStepsIncrementalPush(t *testing.T) {
	tp := newTestPush(t, 3, "r1")
	goldenSteps(t, "incremental", tp.planText())
}

func TestStepsOverlap(t *testing.T) {
	tp := newTestPush(t, 1, "r1")
	tp.env.Rollout.Restart = platform.RestartOverlap
	plan := tp.planText()
	if _, err := tp.rollout(context.Background()); err != nil {
		t.Fatal(err)
	}
	goldenSteps(t, "overlap", plan+tp.recording())
}

func TestStepsSystemd(t *testing.T) {
	tp := newTestPush(t, 1, "r1")
	tp.env.Processes = "systemd"
	plan := tp.planText()
	if _, err := tp.rollout(context.Background()); err != nil {
		t.Fatal(err)
	}
	goldenSteps(t, "systemd", plan+tp.recording())
}

func TestStepsStopStartRun(t *testing.T) {
	tp := newTestPush(t, 2, "r1")
	if _, err := tp.rollout(context.Background()); err != nil {
		t.Fatal(err)
	}
	goldenSteps(t, "stop-start-run", tp.recording()+"rows:\n"+tp.rowsText())
	for _, h := range tp.hosts {
		if h.current != "r2" {
			t.Errorf("a host runs %q after the push", h.current)
		}
	}
}

func TestStepsCanaryFailureRollsBack(t *testing.T) {
	// web1 switches in stage 1; web2, in stage 2, fails its health check
	// and is switched back; past max_failures (0) on_failure = "rollback"
	// returns web1 to r1; web3 never switches.
	tp := newTestPush(t, 3, "r1")
	tp.env.Rollout.Stages = []string{"1", "2", "100%"}
	tp.hosts["web2"].bad["r2"] = true
	_, err := tp.rollout(context.Background())
	if err == nil || !strings.Contains(err.Error(), "stage 2/3 failed (1 host failures, 0 tolerated)") || !strings.Contains(err.Error(), "every switched host is back on its previous release") {
		t.Fatalf("error %v", err)
	}
	goldenSteps(t, "canary-failure-rollback", tp.recording()+"rows:\n"+tp.rowsText())
	for name, h := range tp.hosts {
		if h.current != "r1" {
			t.Errorf("%s runs %q, want r1", name, h.current)
		}
	}
	if got := tp.lastJournal(t); got != pushRolledBack {
		t.Errorf("journal ends %q, want %q", got, pushRolledBack)
	}
}

func TestStepsHaltThenResume(t *testing.T) {
	tp := newTestPush(t, 3, "r1")
	tp.env.Rollout.OnFailure = platform.OnFailureHalt
	tp.hosts["web2"].bad["r2"] = true
	_, err := tp.rollout(context.Background())
	if err == nil || !strings.Contains(err.Error(), "halted: ") {
		t.Fatalf("error %v", err)
	}
	first := tp.recording() + "rows:\n" + tp.rowsText()
	if got := tp.lastJournal(t); got != pushHalted {
		t.Errorf("journal ends %q, want %q", got, pushHalted)
	}

	// The cause is fixed; --resume finishes the push on web2 alone, and
	// skips the release task web1 ran.
	tp.hosts["web2"].bad = nil
	p := &push{e: tp.e, env: tp.env, targets: tp.targets, start: tp.e.now(), rows: map[string]*platform.SummaryRow{},
		prev: map[string]string{}, done: map[string]bool{}, history: map[string]platform.Outcome{}, stranded: map[string]bool{}}
	if err := p.loadResume(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.states = map[string]*hostState{}
	for _, t := range tp.targets {
		cur := tp.hosts[t.Name].current
		p.states[t.Name] = &hostState{HostState: hostcmd.HostState{Current: cur, Releases: []string{"r1", "r2"}}}
	}
	resumed := &testPush{push: p, log: &commandLog{}, evs: tp.evs, hosts: tp.hosts}
	for _, t := range tp.targets {
		t.Transport.(*fleetRecorder).log = resumed.log
	}
	plan := resumed.planText()
	if _, err := p.rollout(context.Background()); err != nil {
		t.Fatal(err)
	}
	goldenSteps(t, "halt-then-resume", first+"--- resume: "+fmt.Sprint(len(p.done))+" hosts done\n"+plan+resumed.recording()+"rows:\n"+resumed.rowsText())
	for name, h := range tp.hosts {
		if h.current != "r2" {
			t.Errorf("%s runs %q after the resume, want r2", name, h.current)
		}
	}
}

func TestStepsRollbackToAPrunedRelease(t *testing.T) {
	// The hosts run r2 and pruned r1; the local store still has it.
	tp := newTestPush(t, 2, "r1")
	rel, err := tp.e.store().Get("prod", "r1")
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range tp.hosts {
		h.current = "r2"
		tp.states[name] = &hostState{HostState: hostcmd.HostState{Current: "r2", Releases: []string{"r2"}}, manifest: tp.man,
			history: []HistoryEntry{{Event: "deploy", Release: "r2", Previous: "r1", Outcome: platform.OutcomeOK}}}
	}
	tp.rel, tp.id = rel, "r1-rollback"
	for _, t := range tp.targets {
		tp.rows[t.Name] = &platform.SummaryRow{Host: t.Name, Release: "r1", Status: platform.HostPending}
	}
	lists, up := tp.rollbackLists("r1", nil)
	var b strings.Builder
	writeSteps(&b, lists[0].steps)
	errs := tp.exec().runAll(context.Background(), lists, 0, nil)
	up.close()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	goldenSteps(t, "rollback-to-pruned", "Steps on web1:\n"+b.String()+tp.recording()+"rows:\n"+tp.rowsText())
	for name, h := range tp.hosts {
		if h.current != "r1" {
			t.Errorf("%s runs %q, want r1", name, h.current)
		}
	}
}

// lastJournal is the state of the local journal's last line.
func (tp *testPush) lastJournal(t *testing.T) pushState {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tp.e.StateDir, "journal", "prod.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var je journalEntry
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &je); err != nil {
		t.Fatal(err)
	}
	return je.State
}

func TestStepsFirstPushCanaryFailureRunsNothing(t *testing.T) {
	// A host's first release fails its health check: there is nothing to
	// switch back to, so the undo stops it and removes current.
	tp := newTestPush(t, 2, "", "r1")
	_, err := tp.rollout(context.Background())
	if err == nil || !strings.Contains(err.Error(), "stage 1/2 failed") {
		t.Fatalf("error %v", err)
	}
	goldenSteps(t, "first-push-canary-failure", tp.recording()+"rows:\n"+tp.rowsText())
	if h := tp.hosts["web1"]; h.current != "" {
		t.Errorf("web1 runs %q, want nothing", h.current)
	}
}

// lostProvider connects again to nothing.
type lostProvider struct{ asked []string }

func (p *lostProvider) Targets(_ context.Context, req *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	p.asked = append(p.asked, req.Hosts...)
	return nil, errors.New("dial tcp: connection refused")
}

func TestStepsHostLostDuringTheSwitchIsStranded(t *testing.T) {
	// web1's connection drops during its health check and the host cannot
	// be reached again: the undo's Before says so and runs no command, and
	// the row and the error say where the host may stand.
	tp := newTestPush(t, 1, "r1")
	lost := false
	h := tp.hosts["web1"]
	tp.targets[0].Transport.(*fleetRecorder).reply = func(args []string) (string, error) {
		if lost {
			return "", platform.ErrConnectionLost
		}
		if describe(args) == "run check in current" {
			lost = true
			return "", fmt.Errorf("health: %w", platform.ErrConnectionLost)
		}
		return h.reply(args)
	}
	prov := &lostProvider{}
	tp.prov = prov
	redialables(tp.targets)
	_, err := tp.rollout(context.Background())
	if err == nil || !strings.Contains(err.Error(), "it could not be switched back") || !strings.Contains(err.Error(), "r1 or r2") {
		t.Fatalf("error %v", err)
	}
	if len(prov.asked) != 1 || prov.asked[0] != "web1" {
		t.Errorf("connected again to %q, want web1 once", prov.asked)
	}
	if got := tp.rowsText(); got != "web1 r2 failed (unreachable)\n" {
		t.Errorf("rows %q", got)
	}
	if tp.strandedCount() != 1 {
		t.Errorf("%d stranded hosts, want 1", tp.strandedCount())
	}
	for _, s := range tp.evs.steps("web1") {
		if strings.Contains(s, "switch back") {
			t.Errorf("an unreachable host got a switch back step: %q", s)
		}
	}
}
