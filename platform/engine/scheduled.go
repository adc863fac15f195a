package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/filelock"
	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/platform/release"
)

// This file is the recipe for environments whose provider is a
// platform.Scheduler (an engine such as Docker Swarm places the
// processes): the build, the release store, secrets and hooks are the
// same as for hosts; upload and switch become Publish and Deploy, and the
// engine's deploy history stands in for the hosts'.

// engineHost names the engine in events and summary rows.
const engineHost = "engine"

// schedulerOf reports whether p schedules its processes itself.
func schedulerOf(p platform.Provider) (platform.Scheduler, bool) {
	s, ok := p.(platform.Scheduler)
	return s, ok
}

// lockScheduled serialises plat commands that change a scheduled
// environment from this machine (the engine has no lock plat could take).
func (e *Engine) lockScheduled(ctx context.Context, env *platform.Environment) (func(), error) {
	dir := filepath.Join(e.StateDir, "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return filelock.Lock(ctx, filepath.Join(dir, env.Name+".lock"))
}

func (e *Engine) inspect(ctx context.Context, env *platform.Environment, s platform.Scheduler) (*platform.InspectResponse, error) {
	resp, err := s.Inspect(ctx, &platform.InspectRequest{App: e.Project.App, Env: env, StateDir: e.StateDir})
	if err != nil {
		return nil, fmt.Errorf("inspect %s on the engine: %w", env.Name, err)
	}
	return resp, nil
}

// engineState turns the engine's view into the one-host state the
// history and id allocation code reads.
func engineState(resp *platform.InspectResponse) map[string]*hostState {
	st := &hostState{}
	st.Current = currentOf(resp)
	for i, d := range resp.History {
		st.history = append(st.history, HistoryEntry{Event: d.Event, Release: d.Release, Previous: d.Previous, Time: d.Time,
			Pusher: d.Pusher, GitSHA: d.GitSHA, Outcome: platform.Outcome(d.Outcome), ManifestHash: d.ManifestHash, Push: fmt.Sprint(i)})
		if release.ValidID(d.Release) {
			st.Releases = append(st.Releases, d.Release)
		}
	}
	return map[string]*hostState{engineHost: st}
}

// currentOf is the release every service runs, or "" when they differ or
// none runs.
func currentOf(resp *platform.InspectResponse) string {
	cur := ""
	for i, s := range resp.Services {
		if i > 0 && s.Release != cur {
			return ""
		}
		cur = s.Release
	}
	return cur
}

func refOf(r *release.Release) platform.ReleaseRef {
	return platform.ReleaseRef{ID: r.ID, GitSHA: r.GitSHA, ManifestHash: r.ManifestHash, Pusher: r.Pusher, Time: r.Time, Message: r.Message}
}

// treeOf lists a manifest's public entries for Publish.
func (e *Engine) treeOf(m *release.Manifest) ([]platform.TreeEntry, error) {
	var out []platform.TreeEntry
	for _, en := range m.Entries {
		te := platform.TreeEntry{Path: en.Path, Mode: en.Mode, Size: en.Size}
		switch en.Kind {
		case release.KindPrivate:
			continue
		case release.KindDir:
			te.Dir = true
		case release.KindSymlink:
			target, err := e.store().ReadLink(en.Hash)
			if err != nil {
				return nil, fmt.Errorf("symlink %s: %w", en.Path, err)
			}
			te.Link = target
		default:
			te.SHA256 = en.Hash
		}
		out = append(out, te)
	}
	return out, nil
}

// privateOf reads a release's private files from the store.
func (e *Engine) privateOf(m *release.Manifest) ([]platform.PrivateFile, error) {
	var out []platform.PrivateFile
	for _, en := range m.Entries {
		if en.Kind != release.KindPrivate {
			continue
		}
		r, err := e.store().Open(en.Hash)
		if err != nil {
			return nil, fmt.Errorf("private file %s: %w", en.Path, err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("private file %s: %w", en.Path, err)
		}
		out = append(out, platform.PrivateFile{Path: en.Path, Mode: en.Mode, Content: b})
	}
	return out, nil
}

// publish makes the release's artifact, reusing what the base release's
// artifact has.
func (e *Engine) publish(ctx context.Context, env *platform.Environment, s platform.Scheduler, rel *release.Release, man *release.Manifest, base string) (string, error) {
	tree, err := e.treeOf(man)
	if err != nil {
		return "", err
	}
	req := &platform.PublishRequest{App: e.Project.App, Env: env, StateDir: e.StateDir, Release: refOf(rel), Tree: tree,
		Open: e.store().Open, Progress: e.progressLine(engineHost)}
	if base != "" {
		if bm, err := e.store().Manifest(env.Name, base); err == nil {
			if bt, err := e.treeOf(bm); err == nil {
				req.Base, req.BaseTree = base, bt
			}
		}
	}
	var resp *platform.PublishResponse
	err = e.step(engineHost, "publish", rel.ID, func() error {
		var err error
		resp, err = s.Publish(ctx, req)
		if err == nil && resp.Note != "" {
			e.emit(platform.Event{Type: platform.EventLog, Host: engineHost, Message: resp.Note})
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return resp.Artifact, nil
}

func (e *Engine) progressLine(host string) func(string) {
	return func(line string) { e.emit(platform.Event{Type: platform.EventLog, Host: host, Message: line}) }
}

// releaseTasksOf lists the release tasks of a push: the app's, then the
// Procfile's release process.
func releaseTasksOf(app *platform.App, procs map[string]string) []platform.Task {
	var tasks []platform.Task
	for _, t := range app.Tasks {
		if t.When == platform.PhaseRelease {
			tasks = append(tasks, t)
		}
	}
	if cmd, ok := procs["release"]; ok {
		tasks = append(tasks, platform.Task{Name: "release", When: platform.PhaseRelease, Run: []string{"sh", "-c", cmd}})
	}
	return tasks
}

// deploy hands the release to the engine and returns the summary rows.
func (e *Engine) deploy(ctx context.Context, env *platform.Environment, s platform.Scheduler, rel *release.Release, man *release.Manifest,
	secrets map[string]string, artifact, event, previous string, tasks []platform.Task, yes bool) (*PushResult, error) {
	private, err := e.privateOf(man)
	if err != nil {
		return nil, err
	}
	environ := mergeEnv(e.Project.App.Environ, env.Environ)
	environ["PLAT_ENV"] = env.Name
	environ["PLAT_RELEASE"] = rel.ID
	environ["PLAT_GIT_SHA"] = rel.GitSHA
	for _, v := range secrets {
		e.addMask(v)
	}
	procs := map[string]string{}
	for k, v := range rel.Processes {
		if k != "release" {
			procs[k] = v
		}
	}
	if len(procs) == 0 {
		return nil, fmt.Errorf("%w: release %s has no processes (no Procfile, and the buildpacks declared none)", ErrConfig, rel.ID)
	}
	req := &platform.DeployRequest{App: e.Project.App, Env: env, StateDir: e.StateDir, Release: refOf(rel), Artifact: artifact,
		Processes: procs, Environ: environ, Secrets: secrets, Private: private, Tasks: tasks, Health: e.health(env),
		Rollout: env.Rollout, Event: event, Previous: previous, Progress: e.progressLine(engineHost)}
	if env.Rollout.Confirm && !yes {
		// The provider asks between stages (nil: it rolls every stage
		// out without asking).
		req.Confirm = e.Confirm
	}
	start := e.now()
	var resp *platform.DeployResponse
	step := "rollout"
	if event == historyRollback {
		step = "rollback"
	}
	err = e.step(engineHost, step, fmt.Sprintf("%s (%d process types)", rel.ID, len(procs)), func() error {
		var err error
		resp, err = s.Deploy(ctx, req)
		return err
	})
	res := &PushResult{Release: rel, URLs: map[string]string{}}
	if resp != nil {
		for _, sv := range resp.Services {
			status := platform.HostOK
			if sv.Release != rel.ID || sv.Running < sv.Replicas {
				status = platform.HostFailed
			}
			res.Rows = append(res.Rows, platform.SummaryRow{Host: sv.Name, Release: orNone(sv.Release), Status: status,
				Duration: e.now().Sub(start), Note: fmt.Sprintf("%d/%d running", sv.Running, sv.Replicas)})
		}
		for k, v := range resp.URLs {
			res.URLs[k] = v
		}
	}
	if len(res.Rows) > 0 {
		e.emit(platform.Event{Type: platform.EventSummary, Rows: res.Rows})
	}
	if err != nil {
		var re *platform.RolloutError
		op := fmt.Sprintf("%s of %s failed", step, rel.ID)
		if errors.As(err, &re) {
			op = fmt.Sprintf("%s of %s failed on service %s", step, rel.ID, re.Service)
		}
		return res, &DeployError{Op: op, Err: err}
	}
	return res, nil
}

// pushScheduled is Push for a Scheduler: build and record as for hosts,
// then Publish and Deploy.
func (e *Engine) pushScheduled(ctx context.Context, opts PushOptions, env *platform.Environment, s platform.Scheduler) (*PushResult, error) {
	if opts.Resume || opts.Plan {
		return nil, fmt.Errorf("%w: environment %s runs on an engine (%s): --resume and --plan are for host providers (the engine finishes or rolls back its own updates)", ErrConfig, env.Name, env.Provider.Type)
	}
	if ro := env.Rollout; ro.Confirm && !opts.Yes && e.Confirm == nil && len(ro.Stages) > 1 {
		return nil, fmt.Errorf("%w: the rollout of %s asks before each of its %d stages (pause = \"confirm\") but this run is not interactive; nothing was changed\nhint: pass --yes to roll out every stage without asking", ErrConfig, env.Name, len(ro.Stages))
	}
	if env.Private != "" {
		if st, err := os.Stat(env.Private); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: environment %s: the private settings directory %s does not exist (app or environment `private`)", ErrConfig, env.Name, env.Private)
		}
	}
	if err := e.prepareState(ctx); err != nil {
		return nil, err
	}
	unlock, err := e.lockScheduled(ctx, env)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p := &push{e: e, opts: opts, env: env, start: e.now(), rows: map[string]*platform.SummaryRow{},
		prev: map[string]string{}, done: map[string]bool{}, history: map[string]platform.Outcome{}}
	if p.secrets, err = e.resolveSecrets(ctx, env); err != nil {
		return nil, err
	}
	if p.digests, err = e.secretDigests(p.secrets); err != nil {
		return nil, fmt.Errorf("secret digests: %w", err)
	}
	insp, err := e.inspect(ctx, env, s)
	if err != nil {
		return nil, err
	}
	p.states = engineState(insp)
	current := p.states[engineHost].Current
	key, keySHA := e.sourceKey(ctx, env, opts.Ref)
	key = digestKey(key, p.digests)
	if cur, err := e.store().Get(env.Name, current); err == nil && key != "" && cur.SourceKey == key && !opts.Force {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("nothing to push: the engine already runs this content (%s, built from commit %s with the same settings); use --force to build and push anyway", current, short(keySHA))})
		return &PushResult{Unchanged: true, URLs: urlsOf(insp)}, nil
	}
	work, err := os.MkdirTemp(e.StateDir, "build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if err := p.build(ctx, work); err != nil {
		p.fail(ctx, err)
		return nil, err
	}
	if key != "" && p.rel.GitSHA == keySHA {
		p.rel.SourceKey = key
	}
	p.rel.Secrets = p.digests
	if cur, err := e.store().Get(env.Name, current); err == nil && cur.ManifestHash == p.man.Hash() && sameDigests(cur.Secrets, p.digests) && !opts.Force {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("nothing to push: the engine already runs this content (%s); use --force to push anyway", short(p.man.Hash()))})
		return &PushResult{Unchanged: true, URLs: urlsOf(insp)}, nil
	}
	p.teamLatest = e.teamLatest(ctx, env.Name)
	p.rel.ID = release.ID(p.nextNumber())
	if err := e.store().Record(p.rel, p.man); err != nil {
		return nil, fmt.Errorf("record release %s: %w", p.rel.ID, err)
	}
	if err := e.store().RecordSecrets(env.Name, p.rel.ID, p.secrets); err != nil {
		return nil, fmt.Errorf("record the secrets of release %s: %w", p.rel.ID, err)
	}
	if err := e.teamPut(ctx, env.Name, p.rel.ID); err != nil {
		return nil, err
	}
	p.id = newPushID(p.rel.ID)
	p.journalLocal(pushStarted, "")
	artifact, err := e.publish(ctx, env, s, p.rel, p.man, current)
	if err != nil {
		err = &DeployError{Op: fmt.Sprintf("publish %s failed; nothing was updated", p.rel.ID), Err: err}
		p.fail(ctx, err)
		return nil, err
	}
	if err := e.runHooks(ctx, env, platform.HookUploaded, p.hookEnv(""), nil); err != nil {
		p.fail(ctx, err)
		return nil, fmt.Errorf("hook uploaded: %w", err)
	}
	res, err := e.deploy(ctx, env, s, p.rel, p.man, p.secrets, artifact, historyDeploy, current, releaseTasksOf(e.Project.App, p.rel.Processes), opts.Yes)
	if err != nil {
		p.fail(ctx, err)
		return res, err
	}
	p.journalLocal(pushFinished, "")
	for _, ev := range []platform.HookEvent{platform.HookSwitched, platform.HookFinished} {
		if err := e.runHooks(ctx, env, ev, p.hookEnv(""), nil); err != nil {
			e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: "hook " + string(ev) + " failed: " + err.Error()})
		}
	}
	return res, nil
}

func sameDigests(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func urlsOf(insp *platform.InspectResponse) map[string]string {
	m := map[string]string{}
	for _, s := range insp.Services {
		if s.URL != "" {
			m[s.Process] = s.URL
		}
	}
	return m
}

// rollbackScheduled is Rollback for a Scheduler: the services go back to
// an earlier release's artifact (published again from the store only if
// the engine lost it), without release tasks.
func (e *Engine) rollbackScheduled(ctx context.Context, opts RollbackOptions, env *platform.Environment, s platform.Scheduler) (*PushResult, error) {
	unlock, err := e.lockScheduled(ctx, env)
	if err != nil {
		return nil, err
	}
	defer unlock()
	insp, err := e.inspect(ctx, env, s)
	if err != nil {
		return nil, err
	}
	st := engineState(insp)[engineHost]
	target := opts.Release
	if target == "" {
		if target = st.previousOf(st.Current); target == "" {
			return nil, fmt.Errorf("%w: no earlier release to roll back to on %s (current: %s)", ErrConfig, env.Name, orNone(st.Current))
		}
	}
	if target == st.Current {
		e.emit(platform.Event{Type: platform.EventLog, Host: engineHost, Message: "every service already runs " + target})
		return &PushResult{URLs: urlsOf(insp)}, nil
	}
	if err := e.teamFetch(ctx, env.Name, target); err != nil {
		return nil, err
	}
	rel, err := e.store().Get(env.Name, target)
	if err != nil {
		return nil, fmt.Errorf("%w: release %s of %s is not in the local store (%v): a rollback needs its manifest", ErrConfig, target, env.Name, err)
	}
	man, err := e.store().Manifest(env.Name, target)
	if err != nil {
		return nil, err
	}
	secrets, err := e.store().Secrets(env.Name, target)
	if err != nil {
		return nil, err
	}
	e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: "rolling back " + env.Name + " to " + target})
	artifact, err := e.publish(ctx, env, s, rel, man, "")
	if err != nil {
		return nil, err
	}
	// A rollback asks nothing, as on hosts.
	res, err := e.deploy(ctx, env, s, rel, man, secrets, artifact, historyRollback, st.Current, nil, true)
	p := &push{e: e, env: env, rel: rel, id: newPushID(target)}
	p.journalLocal(pushRolledBack, "plat rollback")
	return res, err
}

// statusScheduled is one row per task: the service's task slot, the node
// it runs on, its release and state.
func (e *Engine) statusScheduled(ctx context.Context, env *platform.Environment, s platform.Scheduler) ([]HostStatus, error) {
	insp, err := e.inspect(ctx, env, s)
	if err != nil {
		return nil, err
	}
	var rows []HostStatus
	for _, sv := range insp.Services {
		var deployed time.Time
		sha := ""
		if rel, err := e.store().Get(env.Name, sv.Release); err == nil {
			sha = rel.GitSHA
		}
		for i := len(insp.History) - 1; i >= 0; i-- {
			if d := insp.History[i]; d.Release == sv.Release {
				deployed, sha = d.Time, d.GitSHA
				break
			}
		}
		if len(sv.Tasks) == 0 {
			rows = append(rows, HostStatus{Host: sv.Name, Release: sv.Release, GitSHA: sha, Deployed: deployed, URL: sv.URL,
				Machine: fmt.Sprintf("%d/%d running", sv.Running, sv.Replicas)})
		}
		for _, t := range sv.Tasks {
			hs := HostStatus{Host: fmt.Sprintf("%s.%d", sv.Name, t.Slot), Release: t.Release, GitSHA: sha, Deployed: deployed, URL: sv.URL,
				Machine: t.Node}
			if t.URL != "" {
				hs.URL = t.URL
			}
			if t.Release != sv.Release {
				hs.GitSHA = ""
			}
			hs.Processes = append(hs.Processes, processOf(sv.Process, t))
			rows = append(rows, hs)
		}
	}
	return rows, nil
}

// releasesScheduled merges the engine's deploy history with the store.
func (e *Engine) releasesScheduled(ctx context.Context, env *platform.Environment, s platform.Scheduler) ([]ReleaseRow, error) {
	insp, err := e.inspect(ctx, env, s)
	if err != nil {
		return nil, err
	}
	return mergeHistory(engineState(insp), e.store(), env.Name), nil
}

func (e *Engine) logsScheduled(ctx context.Context, env *platform.Environment, s platform.Scheduler, sel Selector, lines int, follow bool, w io.Writer) error {
	if len(sel.Hosts) > 0 {
		return fmt.Errorf("%w: environment %s has no hosts (it runs on an engine); select a process type with --role", ErrConfig, env.Name)
	}
	if e.OutputEvents {
		o, _, flush := e.outputEvents(scheduledHost(sel.Role))
		defer flush()
		w = o
	}
	req := &platform.LogsRequest{App: e.Project.App, Env: env, StateDir: e.StateDir, Lines: lines, Follow: follow, Output: w}
	if sel.Role != "" {
		req.Processes = []string{sel.Role}
	}
	err := s.Logs(ctx, req)
	if follow && ctx.Err() != nil {
		return nil
	}
	return err
}

func (e *Engine) execScheduled(ctx context.Context, env *platform.Environment, s platform.Scheduler, opts ExecOptions) error {
	// --host selects one task (web.2, as plat status names it) or a node.
	if len(opts.Hosts) > 1 {
		return fmt.Errorf("%w: environment %s runs on an engine: --host selects one task (TYPE.SLOT, as plat status shows) or node, not %d", ErrConfig, env.Name, len(opts.Hosts))
	}
	task := ""
	if len(opts.Hosts) == 1 {
		task = opts.Hosts[0]
	}
	cmd := &platform.Command{Args: opts.Argv, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, TTY: opts.TTY}
	exec := func() error {
		return s.Exec(ctx, &platform.ScheduledExecRequest{App: e.Project.App, Env: env, StateDir: e.StateDir, Process: opts.Role, Task: task, Command: cmd})
	}
	if e.OutputEvents {
		if cmd.Stdin != nil || cmd.TTY != nil {
			return fmt.Errorf("%w: an interactive command (-i or -t) has no JSON output", ErrConfig)
		}
		host := scheduledHost(opts.Role)
		if task != "" {
			host = task
		}
		o, er, flush := e.outputEvents(host)
		cmd.Stdout, cmd.Stderr = o, er
		run := exec
		exec = func() error {
			start := e.startStep(host, "exec", strings.Join(opts.Argv, " "))
			err := run()
			flush()
			e.endStep(host, "exec", start, err)
			return err
		}
	}
	err := exec()
	if err != nil {
		if errors.Is(err, platform.ErrNoTTY) {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		return fmt.Errorf("%s: %s: %w", env.Name, strings.Join(opts.Argv, " "), err)
	}
	return nil
}

// scheduledHost names, in events, where a command of an engine
// environment ran: the process type it was given, or "engine".
func scheduledHost(role string) string {
	if role != "" {
		return role
	}
	return "engine"
}

// processOf shows a task as a process of `plat status`; a task that does
// not run carries its state (starting, failed, …).
func processOf(process string, t platform.TaskStatus) hostcmd.Process {
	if t.State == "running" {
		return hostcmd.Process{Type: process, Running: true}
	}
	return hostcmd.Process{Type: process + " (" + t.State + ")"}
}
