package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/platform/release"
)

// PushOptions tune a push.
type PushOptions struct {
	EnvName string
	Ref     string
	Message string
	// Plan only builds and prints what would happen.
	Plan bool
	// Resume continues the last halted or interrupted push of Env.
	Resume bool
	// Yes answers "confirm" pauses.
	Yes      bool
	LockWait time.Duration
	// Force pushes even when every host already runs the same content.
	Force bool
	// promote replaces fetch and build with another environment's
	// release (Promote, promote.go).
	promote *promotion
}

// PushResult is what a push did.
type PushResult struct {
	Release   *release.Release
	Rows      []platform.SummaryRow
	URLs      map[string]string
	Unchanged bool
	Plan      *Plan
}

// push is the state of one push in flight.
type push struct {
	e       *Engine
	opts    PushOptions
	env     *platform.Environment
	targets []*platform.Target
	id      string // push id (journal key)
	rel     *release.Release
	man     *release.Manifest
	states  map[string]*hostState
	start   time.Time
	// secrets are the release's secret values (name → value), digests
	// their digests as recorded in the release.
	secrets map[string]string
	digests map[string]string

	mu   sync.Mutex
	rows map[string]*platform.SummaryRow
	prev map[string]string // host -> release before the switch
	done map[string]bool   // hosts that finished (from a resumed journal too)
	// records are, per host, what its journal holds of the push (read by
	// --resume): the executor skips the steps they name.
	records map[string]map[string]bool
	history map[string]platform.Outcome // host -> outcome
	// prov gives a host whose connection was lost a new one (reach);
	// stranded are the failed hosts it could not reach again.
	prov     platform.Provider
	stranded map[string]bool
	// teamLatest is the highest release number in the team's store.
	teamLatest int
}

// Push builds, records and rolls out a release (the life of a push is in
// ARCHITECTURE.md). A new push, a resumed one and a plan differ only in
// where the release comes from (a build, or the journal and the local
// store) and what becomes of the step lists compiled from it (run, or
// printed); the lists and their executor know no modes.
func (e *Engine) Push(ctx context.Context, opts PushOptions) (*PushResult, error) {
	env, prov, err := e.environment(opts.EnvName)
	if err != nil {
		return nil, err
	}
	if s, ok := schedulerOf(prov); ok {
		return e.pushScheduled(ctx, opts, env, s)
	}
	p, closeAll, err := e.openPush(ctx, opts, env, prov)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	if !opts.Plan {
		lock, err := e.acquire(ctx, env, p.targets, "push", opts.Message, opts.LockWait)
		if err != nil {
			return nil, err
		}
		defer lock.release(ctx)
		if err := e.assignPorts(ctx, env, p.targets); err != nil {
			return nil, err
		}
		p.teamLatest = e.teamLatest(ctx, env.Name)
	}
	source := p.fromBuild
	if opts.Resume {
		source = p.fromJournal
	}
	if res, err := source(ctx); res != nil || err != nil {
		return res, err
	}
	if opts.Plan {
		return &PushResult{Release: p.rel, Plan: p.plan()}, nil
	}
	return p.run(ctx)
}

// openPush checks what a push needs before it connects (the private
// settings directory, the state directory, the secrets of a new release),
// then connects to the hosts.
func (e *Engine) openPush(ctx context.Context, opts PushOptions, env *platform.Environment, prov platform.Provider) (*push, func(), error) {
	fresh := !opts.Resume
	if env.Private != "" && fresh {
		if st, err := os.Stat(env.Private); err != nil || !st.IsDir() {
			return nil, nil, fmt.Errorf("%w: environment %s: the private settings directory %s does not exist (app or environment `private`)", ErrConfig, env.Name, env.Private)
		}
	}
	if err := e.prepareState(ctx); err != nil {
		return nil, nil, err
	}
	p := &push{e: e, opts: opts, env: env, start: e.now(), rows: map[string]*platform.SummaryRow{},
		prev: map[string]string{}, done: map[string]bool{}, history: map[string]platform.Outcome{}, prov: prov, stranded: map[string]bool{}}
	if fresh {
		// Secrets are read from their sources on this machine, once per
		// push; a resumed push uses the values its release recorded.
		var err error
		if p.secrets, err = e.resolveSecrets(ctx, env); err != nil {
			return nil, nil, err
		}
		if p.digests, err = e.secretDigests(p.secrets); err != nil {
			return nil, nil, fmt.Errorf("secret digests: %w", err)
		}
	}
	ts, closeAll, err := e.targets(ctx, env, prov, nil)
	if err != nil {
		return nil, nil, err
	}
	redialables(ts)
	p.targets = ts
	if err := p.checkConfirm(); err != nil {
		closeAll()
		return nil, nil, err
	}
	return p, closeAll, nil
}

// fromJournal takes the release of the last unfinished push from the
// local store, what each host already did from its journal (loadResume),
// and the hosts' state.
func (p *push) fromJournal(ctx context.Context) (*PushResult, error) {
	if err := p.loadResume(ctx); err != nil {
		return nil, err
	}
	return nil, p.readStates(ctx)
}

func (p *push) readStates(ctx context.Context) error {
	states, errs := p.e.readStates(ctx, p.env.Name, p.targets)
	if len(errs) > 0 {
		return &DeployError{Op: "read host state", Hosts: errs}
	}
	p.states = states
	return nil
}

// fromBuild builds a new release and gives it the next id. Unless --force
// (or --plan), a push whose inputs or whose built content every host
// already runs ends there, with a result that says so.
func (p *push) fromBuild(ctx context.Context) (*PushResult, error) {
	e, opts := p.e, p.opts
	shortcut := !opts.Force && !opts.Plan
	// The same inputs as the release every host runs: nothing to build.
	key, keySHA := "", ""
	if !opts.Plan && opts.promote == nil {
		key, keySHA = e.sourceKey(ctx, p.env, opts.Ref)
		key = digestKey(key, p.digests)
	}
	// The hosts' state is read before the build so that the starting
	// hooks already know the release id and what each host runs.
	if err := p.readStates(ctx); err != nil {
		return nil, err
	}
	if key != "" && shortcut {
		if id := p.runsSource(p.states, key); id != "" {
			e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("nothing to push: every host already runs this content (%s, built from commit %s with the same settings); use --force to build and push anyway", id, short(keySHA))})
			return p.nothingToPush(ctx)
		}
	}
	work, err := os.MkdirTemp(e.StateDir, "build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	build := p.build
	if opts.promote != nil {
		build = p.promoted
	}
	if err := build(ctx, work); err != nil {
		p.fail(ctx, err)
		return nil, err
	}
	if key != "" && p.rel.GitSHA == keySHA {
		p.rel.SourceKey = key
	}
	p.rel.Secrets = p.digests
	if shortcut && p.unchanged() {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("nothing to push: every host already runs this content (%s); use --force to push anyway", short(p.man.Hash()))})
		return p.nothingToPush(ctx)
	}
	p.rel.ID = release.ID(p.nextNumber())
	return nil, nil
}

// run records a new release (a resumed one is recorded already) and
// rolls it out.
func (p *push) run(ctx context.Context) (*PushResult, error) {
	if p.id == "" {
		e := p.e
		if err := e.store().Record(p.rel, p.man); err != nil {
			return nil, fmt.Errorf("record release %s: %w", p.rel.ID, err)
		}
		if err := e.store().RecordSecrets(p.env.Name, p.rel.ID, p.secrets); err != nil {
			return nil, fmt.Errorf("record the secrets of release %s: %w", p.rel.ID, err)
		}
		if err := e.teamPut(ctx, p.env.Name, p.rel.ID); err != nil {
			return nil, err
		}
		p.id = newPushID(p.rel.ID)
		p.journalLocal(pushStarted, "")
	}
	res, err := p.rollout(ctx)
	if err != nil {
		p.fail(ctx, err)
	}
	return res, err
}

// nothingToPush ends a push that found every host running its content:
// processes that are down are started (plat ps and plat start's work), so
// the URLs it returns answer.
func (p *push) nothingToPush(ctx context.Context) (*PushResult, error) {
	if _, err := p.e.startDown(ctx, p.env, p.targets, "nothing new to push, but "); err != nil {
		return nil, err
	}
	return &PushResult{Unchanged: true, URLs: urls(p.targets)}, nil
}

func newPushID(rel string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return rel + "-" + hex.EncodeToString(b)
}

// skipCheckoutGit leaves the build checkout's repository out of releases.
func skipCheckoutGit(path string, _ fs.DirEntry) bool { return path == ".git" }

// build runs steps 3–6 of the recipe on this machine.
func (p *push) build(ctx context.Context, work string) error {
	e, app := p.e, p.e.Project.App
	unlock, err := e.lockCheckout(ctx, p.env.Name)
	if err != nil {
		return err
	}
	defer unlock()
	var src *source
	err = e.step("localhost", "fetch", sourceLabel(app, p.opts.Ref), func() error {
		var err error
		src, err = e.fetch(ctx, work, p.opts.Ref, p.env.Name)
		return err
	})
	if err != nil {
		return err
	}
	if err := p.starting(ctx, src.SHA); err != nil {
		return err
	}
	if src.Dirty {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: "the working tree has uncommitted changes; plat deploys the commit " + short(src.SHA)})
	}
	if len(src.Untracked) > 0 {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: untrackedWarning(src.Untracked)})
	}
	if err := stripVCS(src.Dir); err != nil {
		return err
	}
	var built *platform.BuildResult
	if e.Builder != nil {
		label := strings.Join(app.Buildpacks, ",")
		if label == "" {
			label = "detect"
		}
		err = e.step("localhost", "build", fmt.Sprintf("%s (%s@%s)", label, app.Name, short(src.SHA)), func() error {
			var err error
			built, err = e.Builder.Build(ctx, &platform.BuildRequest{
				Dir: src.Dir, Buildpacks: app.Buildpacks, Env: mergeEnv(app.Environ, p.env.Environ),
				CacheDir: filepath.Join(e.StateDir, "cache", "build", p.env.Name), Output: e.output("localhost"),
			})
			return err
		})
		if err != nil {
			return err
		}
	}
	if built == nil {
		built = &platform.BuildResult{}
	}
	for _, t := range app.Tasks {
		if t.When != platform.PhaseBuild {
			continue
		}
		t := t
		err := e.step("localhost", "task "+t.Name, strings.Join(t.Run, " "), func() error {
			tctx, cancel := withTimeout(ctx, t.Timeout)
			defer cancel()
			vars := []string{"PLAT_ENV=" + p.env.Name, "PLAT_GIT_SHA=" + src.SHA}
			for k, v := range mergeEnv(app.Environ, p.env.Environ) {
				vars = append(vars, k+"="+v)
			}
			return runInBuild(tctx, src.Dir, vars, t.Run, e.output("localhost"))
		})
		if err != nil {
			return fmt.Errorf("build task %s failed; nothing was uploaded: %w", t.Name, err)
		}
	}
	var man *release.Manifest
	err = e.step("localhost", "package", "", func() error {
		if err := stripVCS(src.Dir); err != nil {
			return err
		}
		private, err := overlayPrivate(p.env.Private, src.Dir)
		if err != nil {
			return err
		}
		if src.SHA != "" {
			if err := os.WriteFile(filepath.Join(src.Dir, "REVISION"), []byte(src.SHA+"\n"), 0o644); err != nil {
				return err
			}
		}
		man, err = release.Scan(src.Dir, release.ScanOptions{Private: private, Skip: skipCheckoutGit})
		if err != nil {
			return err
		}
		if err := e.store().AddTree(src.Dir, man); err != nil {
			return err
		}
		// The store holds them encrypted now; the checkout, which is kept
		// between pushes, must not keep plain copies.
		for path := range private {
			if err := os.Remove(filepath.Join(src.Dir, filepath.FromSlash(path))); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	n, size := man.Files()
	p.man = man
	p.rel = &release.Release{
		Env: p.env.Name, App: app.Name, GitSHA: src.SHA, GitRef: src.Ref, Author: src.Author,
		Pusher: e.user(), Time: e.now().UTC().Truncate(time.Second), Message: p.opts.Message,
		ManifestHash: man.Hash(), Buildpacks: built.Buildpacks, Processes: processesOf(built, src.Dir),
		ConfigHash: configHash(app, p.env), Files: n, Size: size,
	}
	return nil
}

func sourceLabel(app *platform.App, ref string) string {
	s := app.Source.Git
	if s == "" {
		s = "working tree"
	}
	if ref != "" {
		s += "@" + ref
	}
	return s
}

// processesOf returns the Procfile's process types.
func processesOf(b *platform.BuildResult, dir string) map[string]string {
	if len(b.Processes) > 0 {
		return b.Processes
	}
	f, err := os.Open(filepath.Join(dir, "Procfile"))
	if err != nil {
		return nil
	}
	defer f.Close()
	procs, _ := platform.ParseProcfile(f)
	return procs
}

// runsSource returns the release every host runs if it was built from
// inputs with this source key (per the local store), or "".
func (p *push) runsSource(states map[string]*hostState, key string) string {
	id := ""
	for _, t := range p.targets {
		s := states[t.Name]
		if s == nil || s.Current == "" || (id != "" && s.Current != id) {
			return ""
		}
		id = s.Current
		hash := s.ManifestSHA256
		if hash == "" && s.manifest != nil {
			hash = s.manifest.Hash()
		}
		rel, err := p.e.store().Get(p.env.Name, id)
		if err != nil || rel.SourceKey != key || hash == "" || rel.ManifestHash != hash {
			return ""
		}
	}
	return id
}

// unchanged reports whether every host already runs exactly this content.
func (p *push) unchanged() bool {
	want := p.man.Hash()
	for _, t := range p.targets {
		s := p.states[t.Name]
		if s != nil && s.ManifestSHA256 != "" {
			if s.ManifestSHA256 != want {
				return false
			}
			continue
		}
		if s == nil || s.manifest == nil || s.manifest.Hash() != want {
			return false
		}
	}
	return p.sameSecrets()
}

// nextNumber allocates the release number under the lock: one past the
// highest any host or the local store has seen, so pushers with separate
// .plat directories never reuse an id.
func (p *push) nextNumber() int {
	n := max(p.e.store().Latest(p.env.Name), p.teamLatest)
	for _, s := range p.states {
		for _, r := range s.Releases {
			n = max(n, release.Num(r))
		}
		// A name taken by a symbolic link is never reused.
		for r := range s.Links {
			n = max(n, release.Num(r))
		}
		for _, h := range s.history {
			n = max(n, release.Num(h.Release))
		}
	}
	return n + 1
}

// rollout runs the compiled step lists on the hosts (steps 8–10 of
// ARCHITECTURE.md's life of a push), phase by phase: uploads everywhere,
// the release tasks, the switch stage by stage, then record and prune.
func (p *push) rollout(ctx context.Context) (*PushResult, error) {
	e := p.e
	for _, t := range p.targets {
		p.rows[t.Name] = &platform.SummaryRow{Host: t.Name, Release: p.rel.ID, Status: platform.HostPending}
		if p.done[t.Name] {
			p.rows[t.Name].Status, p.rows[t.Name].Note = platform.HostOK, "switched before the resume"
		}
	}
	// Upload everywhere before anything switches.
	pending := p.pendingTargets()
	if err := p.uploadAll(ctx, pending); err != nil {
		return p.result(), err
	}
	if err := e.runHooks(ctx, p.env, platform.HookUploaded, p.hookEnv(""), p.targets); err != nil {
		return p.result(), fmt.Errorf("hook uploaded: %w", err)
	}
	// Release tasks, once.
	if err := p.releaseTasks(ctx); err != nil {
		return p.result(), err
	}
	// Switch, stage by stage.
	if err := p.switchStages(ctx, pending); err != nil {
		return p.result(), err
	}
	// As Capistrano's deploy:published: once, after the last stage, when
	// every host serves the new release. The hosts already switched, so a
	// failing hook is reported, not undone.
	if err := e.runHooks(ctx, p.env, platform.HookSwitched, p.hookEnv(""), p.targets); err != nil {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: "hook switched failed: " + err.Error()})
	}
	// Record and prune.
	p.finish(ctx, platform.OutcomeOK)
	if err := e.runHooks(ctx, p.env, platform.HookFinished, p.hookEnv(""), p.targets); err != nil {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: "hook finished failed: " + err.Error()})
	}
	res := p.result()
	e.emit(platform.Event{Type: platform.EventSummary, Rows: res.Rows})
	return res, nil
}

func (p *push) pendingTargets() []*platform.Target {
	var out []*platform.Target
	for _, t := range p.targets {
		if !p.done[t.Name] {
			out = append(out, t)
		}
	}
	return out
}

func (p *push) result() *PushResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	res := &PushResult{Release: p.rel, URLs: urls(p.targets)}
	for _, t := range p.targets {
		res.Rows = append(res.Rows, *p.rows[t.Name])
	}
	return res
}

func urls(ts []*platform.Target) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		if t.PublicURL != "" {
			m[t.Name] = t.PublicURL
		}
	}
	return m
}

func (p *push) setRow(host string, status platform.HostState, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rows[host]
	r.Status = status
	r.Duration = p.e.now().Sub(p.start)
	if note != "" {
		r.Note = note
	}
}

// fail runs the failed hooks and records the push's outcome locally.
func (p *push) fail(ctx context.Context, err error) {
	e := p.e
	if p.rel != nil && p.rel.ID != "" {
		p.journalLocal(pushFailed, err.Error())
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if herr := e.runHooks(hctx, p.env, platform.HookFailed, p.hookEnv(err.Error()), p.targets); herr != nil {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: "hook failed failed: " + herr.Error()})
	}
	if p.rows != nil && len(p.rows) > 0 {
		e.emit(platform.Event{Type: platform.EventSummary, Rows: p.result().Rows})
	}
}

// journalLocal appends the push's progress to .plat/journal/<env>.jsonl.
func (p *push) journalLocal(state pushState, note string) {
	dir := filepath.Join(p.e.StateDir, "journal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, p.env.Name+".jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	b, _ := json.Marshal(journalEntry{Push: p.id, Release: p.rel.ID, State: state, Time: p.e.now().UTC(), Note: note})
	_, _ = f.Write(append(b, '\n'))
}

type journalEntry struct {
	Push    string    `json:"push"`
	Release string    `json:"release"`
	State   pushState `json:"state"`
	Time    time.Time `json:"time"`
	Note    string    `json:"note,omitempty"`
}

// journalHost records a host's progress on the host itself.
func (p *push) journalHost(ctx context.Context, t *platform.Target, step string) {
	line := fmt.Sprintf("%s %s %s %s", p.id, p.rel.ID, step, p.e.now().UTC().Format(time.RFC3339))
	if _, err := run(context.WithoutCancel(ctx), t, hostcmd.Journal(t.DeployTo, line)); err != nil {
		p.e.log().Warn("journal", "host", t.Name, "err", err)
	}
}

// loadResume finds the last unfinished push of the environment and its
// release (from the local store: a resume never rebuilds), and which hosts
// already finished it (from their journals).
func (p *push) loadResume(ctx context.Context) error {
	e := p.e
	b, err := os.ReadFile(filepath.Join(e.StateDir, "journal", p.env.Name+".jsonl"))
	if err != nil {
		return fmt.Errorf("%w: nothing to resume for %s: no push journal in %s", ErrConfig, p.env.Name, filepath.Join(e.StateDir, "journal"))
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var last journalEntry
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		return fmt.Errorf("read push journal: %w", err)
	}
	if last.State == pushFinished {
		return fmt.Errorf("%w: nothing to resume for %s: the last push (%s) finished", ErrConfig, p.env.Name, last.Release)
	}
	// A push whose hosts were rolled back (on_failure = "rollback", or
	// plat rollback after it) has nothing left to finish: resuming it would
	// switch only the hosts it never reached.
	for _, l := range lines {
		var je journalEntry
		if json.Unmarshal([]byte(l), &je) == nil && je.Push == last.Push && je.State == pushRolledBack {
			if je.Note == "plat rollback" {
				return fmt.Errorf("%w: nothing to resume for %s: it was rolled back to %s after the last push; push again", ErrConfig, p.env.Name, je.Release)
			}
			return fmt.Errorf("%w: nothing to resume for %s: the push of %s was rolled back; push again", ErrConfig, p.env.Name, je.Release)
		}
	}
	rel, err := e.store().Get(p.env.Name, last.Release)
	if err != nil {
		return fmt.Errorf("resume %s: %w", last.Release, err)
	}
	man, err := e.store().Manifest(p.env.Name, last.Release)
	if err != nil {
		return fmt.Errorf("resume %s: %w", last.Release, err)
	}
	p.rel, p.man, p.id = rel, man, last.Push
	if p.secrets, err = e.store().Secrets(p.env.Name, rel.ID); err != nil {
		return fmt.Errorf("resume %s: %w", last.Release, err)
	}
	p.digests = rel.Secrets
	p.records = map[string]map[string]bool{}
	var mu sync.Mutex
	e.forEach(ctx, p.targets, 0, func(ctx context.Context, t *platform.Target) error {
		out, err := run(ctx, t, hostcmd.ReadJournal(t.DeployTo, p.id))
		if err != nil {
			return err
		}
		recs := hostRecords(out)
		mu.Lock()
		p.records[t.Name] = recs
		if recs[recordSwitched] {
			p.done[t.Name] = true
		}
		mu.Unlock()
		return nil
	})
	e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("resuming push of %s: %d of %d hosts already switched", rel.ID, len(p.done), len(p.targets))})
	p.journalLocal(pushResumed, "")
	return nil
}

// hostRecords reads a host's journal lines of one push ("<push> <release>
// <record> <time>") into the set of its records. The host's last word on
// switching counts: switched, or switched back by a rollback.
func hostRecords(journal string) map[string]bool {
	recs := map[string]bool{}
	for _, l := range strings.Split(journal, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		recs[f[2]] = true
		switch f[2] {
		case recordSwitched:
			delete(recs, recordRolledBack)
		case recordRolledBack:
			delete(recs, recordSwitched)
		}
	}
	return recs
}

// uploadAll prepares the new release on every pending host. A host that
// cannot prepare stops the push with nothing switched.
func (p *push) uploadAll(ctx context.Context, ts []*platform.Target) error {
	up := newUploader(p.e, p.rel, p.man)
	up.secrets = p.secrets
	defer up.close()
	var lists []hostSteps
	for _, t := range ts {
		lists = append(lists, hostSteps{t, p.uploadList(t, up)})
	}
	errs := p.exec().runAll(ctx, lists, 0, nil)
	if len(errs) > 0 {
		for _, t := range ts {
			if errs[t.Name] == nil {
				p.setRow(t.Name, platform.HostNotSwitched, "")
			}
		}
		err := &DeployError{Op: fmt.Sprintf("upload %s failed; no host was switched", p.rel.ID), Hosts: errs}
		if ctx.Err() != nil {
			err.Err = ctx.Err()
		}
		return err
	}
	return nil
}

// releaseTasks runs release-phase tasks (and the Procfile's release
// process) once, on one host, in the new release before any switch.
func (p *push) releaseTasks(ctx context.Context) error {
	tasks, err := p.taskList()
	if err != nil {
		return err
	}
	x := p.exec()
	for _, task := range tasks {
		if err := x.runHost(ctx, task.t, []Step{task.step}); err != nil {
			return &DeployError{Op: fmt.Sprintf("release task %s failed on %s; no host was switched", strings.TrimPrefix(task.step.Name, "task "), task.t.Name), Err: err}
		}
	}
	return nil
}

// exec is the executor of the push's lists: it journals on the hosts and
// skips what an earlier run of the same push journaled.
func (p *push) exec() *executor {
	return &executor{e: p.e, journal: p.journalHost, records: p.records}
}

// pickHost returns the first target with role (or the first target).
func pickHost(ts []*platform.Target, role string) *platform.Target {
	for _, t := range ts {
		if role == "" || t.HasRole(role) {
			return t
		}
	}
	return nil
}

// processEnv is the environment of processes and tasks on t.
func (p *push) processEnv(t *platform.Target) map[string]string {
	vars := mergeEnv(p.e.Project.App.Environ, p.env.Environ)
	vars["PORT"] = fmt.Sprint(t.Port)
	vars["PLAT_ENV"] = p.env.Name
	vars["PLAT_RELEASE"] = p.rel.ID
	vars["PLAT_HOST"] = t.Name
	vars["PLAT_DEPLOY_TO"] = t.DeployTo
	return vars
}

// finish records history and revisions.log on every host the push
// switched (or tried to) and prunes. The hosts already run what it
// records, so an interrupt (^C) does not stop the record, only the prune.
func (p *push) finish(ctx context.Context, outcome platform.Outcome) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var lists []hostSteps
	for _, t := range p.targets {
		p.mu.Lock()
		hostOutcome, ok := p.history[t.Name]
		prev := p.prev[t.Name]
		p.mu.Unlock()
		if ok {
			lists = append(lists, hostSteps{t, p.finishList(ctx, t, hostOutcome, prev)})
		}
	}
	p.exec().runAll(rctx, lists, 0, nil)
	p.journalLocal(endState(outcome), "")
}

// prune removes old releases on t (never the current or previous one).
func (p *push) prune(ctx context.Context, t *platform.Target, current, previous string) {
	keep := p.env.KeepReleases // platform.FillDefaults set it
	p.e.log().Debug("pruning", "host", t.Name, "keep", keep)
	if out, err := run(ctx, t, hostcmd.Prune(t.DeployTo, keep, current, previous)); err == nil && strings.TrimSpace(out) != "" {
		p.e.log().Info("pruned", "host", t.Name, "releases", strings.Fields(out))
	}
}

func mergeEnv(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// output returns a writer that turns command output into log events.
func (e *Engine) output(host string) io.Writer {
	return &lineWriter{fn: func(l string) {
		e.emit(platform.Event{Type: platform.EventLog, Host: host, Message: l})
	}}
}

type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		w.fn(strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// Flush hands on a last line that has no newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.fn(strings.TrimRight(string(w.buf), "\r"))
		w.buf = nil
	}
}

// sameSecrets reports whether the release every host runs (per the local
// store) has the secrets this push resolved.
func (p *push) sameSecrets() bool {
	for _, t := range p.targets {
		s := p.states[t.Name]
		var cur map[string]string
		if s != nil && s.Current != "" {
			if rel, err := p.e.store().Get(p.env.Name, s.Current); err == nil {
				cur = rel.Secrets
			} else if len(p.digests) > 0 {
				return false
			}
		}
		if len(cur) != len(p.digests) {
			return false
		}
		for k, v := range p.digests {
			if cur[k] != v {
				return false
			}
		}
	}
	return true
}
