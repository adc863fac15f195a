package main

import (
	"encoding/json"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/plat-sh/plat/environments"
	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/engine"
	"github.com/plat-sh/plat/platform/release"
	"github.com/plat-sh/plat/platform/ui"
	"github.com/plat-sh/plat/providers/ssh"
)

// The documents and results of --json (docs/json.md). They are plat's
// contract with scripts, kept apart from the engine's types so that those
// can change without breaking it: snake_case keys, a list is [] and never
// null, times are RFC 3339, durations are seconds, and a field that may
// be absent says omitempty.

// printJSON writes one document: read commands print exactly one.
func (a *app) printJSON(doc any) error {
	return json.NewEncoder(a.stdout).Encode(doc)
}

// list makes a nil slice an empty one, so it encodes as [].
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func ptrTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// initDoc is `plat init --json`.
type initDoc struct {
	SchemaVersion int    `json:"schema_version"`
	Path          string `json:"path"`
	Kind          string `json:"kind"`
}

// validateDoc is `plat validate --json`.
type validateDoc struct {
	SchemaVersion int              `json:"schema_version"`
	File          string           `json:"file"`
	Valid         bool             `json:"valid"`
	App           string           `json:"app,omitempty"`
	Environments  []string         `json:"environments"`
	Diagnostics   []diagnosticJSON `json:"diagnostics"`
}

type diagnosticJSON struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
}

func diagnostics(diags hcl.Diagnostics) []diagnosticJSON {
	out := []diagnosticJSON{}
	for _, d := range diags {
		j := diagnosticJSON{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			j.Severity = "warning"
		}
		if d.Subject != nil {
			j.File, j.Line, j.Column = d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column
		}
		out = append(out, j)
	}
	return out
}

// envListDoc is `plat env list --json`.
type envListDoc struct {
	SchemaVersion int            `json:"schema_version"`
	Environments  []envListEntry `json:"environments"`
}

type envListEntry struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Hosts    int    `json:"hosts"`
	Inherits string `json:"inherits,omitempty"`
}

// envShowDoc is `plat env show ENV --json`: the environment resolved.
type envShowDoc struct {
	SchemaVersion int               `json:"schema_version"`
	Name          string            `json:"name"`
	App           string            `json:"app"`
	Inherits      string            `json:"inherits,omitempty"`
	Via           string            `json:"via,omitempty"`
	Provider      providerJSON      `json:"provider"`
	DeployTo      string            `json:"deploy_to,omitempty"`
	KeepReleases  int               `json:"keep_releases"`
	Processes     string            `json:"processes"`
	Private       string            `json:"private,omitempty"`
	Env           map[string]string `json:"env"`
	Secrets       []secretJSON      `json:"secrets"`
	Hosts         []hostJSON        `json:"hosts"`
	Rollout       rolloutJSON       `json:"rollout"`
	Health        *healthJSON       `json:"health,omitempty"`
	Tasks         []taskJSON        `json:"tasks"`
	Hooks         []hookJSON        `json:"hooks"`
	// Origins and Shared: only when plat.hcl uses shared sources (env.go).
	Origins []originJSON `json:"origins,omitempty"`
	Shared  []sharedJSON `json:"shared,omitempty"`
}

type providerJSON struct {
	Type   string         `json:"type"`
	Values map[string]any `json:"values"`
}

// secretJSON names a secret and its source, never its value.
type secretJSON struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

type hostJSON struct {
	Name     string            `json:"name"`
	Cluster  string            `json:"cluster"`
	Roles    []string          `json:"roles"`
	Address  string            `json:"address"`
	Port     int               `json:"port,omitempty"`
	DeployTo string            `json:"deploy_to,omitempty"`
	Vars     map[string]string `json:"vars"`
}

type rolloutJSON struct {
	Stages              []string    `json:"stages"`
	PauseSeconds        float64     `json:"pause_seconds"`
	Confirm             bool        `json:"confirm"`
	MaxParallel         int         `json:"max_parallel"`
	OnFailure           string      `json:"on_failure,omitempty"`
	MaxFailures         string      `json:"max_failures"`
	DrainTimeoutSeconds float64     `json:"drain_timeout_seconds"`
	Restart             string      `json:"restart,omitempty"`
	Health              *healthJSON `json:"health,omitempty"`
}

type healthJSON struct {
	HTTP            string   `json:"http,omitempty"`
	TCP             bool     `json:"tcp,omitempty"`
	Command         []string `json:"command,omitempty"`
	Port            int      `json:"port,omitempty"`
	Status          int      `json:"status,omitempty"`
	TimeoutSeconds  float64  `json:"timeout_seconds"`
	IntervalSeconds float64  `json:"interval_seconds"`
	Retries         int      `json:"retries"`
}

type taskJSON struct {
	Name           string   `json:"name"`
	When           string   `json:"when"`
	Run            []string `json:"run"`
	Role           string   `json:"role,omitempty"`
	TimeoutSeconds float64  `json:"timeout_seconds,omitempty"`
}

type hookJSON struct {
	Event  string   `json:"event"`
	Run    []string `json:"run"`
	OnHost bool     `json:"on_host"`
}

func health(h *platform.HealthCheck) *healthJSON {
	if h == nil {
		return nil
	}
	return &healthJSON{HTTP: h.HTTP, TCP: h.TCP, Command: h.Command, Port: h.Port, Status: h.Status,
		TimeoutSeconds: h.Timeout.Seconds(), IntervalSeconds: h.Interval.Seconds(), Retries: h.Retries}
}

func newEnvShowDoc(p *platform.Project, env *platform.Environment) envShowDoc {
	app := p.App
	if app == nil {
		app = &platform.App{}
	}
	d := envShowDoc{
		SchemaVersion: ui.SchemaVersion, Name: env.Name, App: app.Name, Inherits: env.Inherits, Via: env.Via,
		Provider: providerJSON{Type: env.Provider.Type, Values: env.Provider.Values}, DeployTo: env.DeployTo,
		KeepReleases: env.KeepReleases, Processes: env.Processes, Private: env.Private,
		Env: map[string]string{}, Secrets: []secretJSON{}, Hosts: []hostJSON{}, Tasks: []taskJSON{}, Hooks: []hookJSON{},
		Health: health(app.Health),
	}
	if d.Provider.Values == nil {
		d.Provider.Values = map[string]any{}
	}
	for k, v := range app.Environ {
		d.Env[k] = v
	}
	for k, v := range env.Environ {
		d.Env[k] = v
	}
	for _, s := range env.Secrets {
		d.Secrets = append(d.Secrets, secretJSON{Name: s.Name, Source: s.Source()})
	}
	for _, h := range env.Hosts() {
		vars := h.Vars
		if vars == nil {
			vars = map[string]string{}
		}
		d.Hosts = append(d.Hosts, hostJSON{Name: h.Name, Cluster: h.Cluster, Roles: list(h.Roles), Address: h.Address,
			Port: h.Port, DeployTo: h.DeployTo, Vars: vars})
	}
	r := env.Rollout
	d.Rollout = rolloutJSON{Stages: list(r.Stages), PauseSeconds: r.Pause.Seconds(), Confirm: r.Confirm, MaxParallel: r.MaxParallel,
		OnFailure: r.OnFailure, MaxFailures: r.MaxFailures, DrainTimeoutSeconds: r.DrainTimeout.Seconds(), Restart: r.Restart,
		Health: health(r.Health)}
	if d.Rollout.MaxFailures == "" {
		d.Rollout.MaxFailures = "0"
	}
	for _, t := range app.Tasks {
		d.Tasks = append(d.Tasks, taskJSON{Name: t.Name, When: string(t.When), Run: list(t.Run), Role: t.Role, TimeoutSeconds: t.Timeout.Seconds()})
	}
	for _, h := range env.Hooks {
		d.Hooks = append(d.Hooks, hookJSON{Event: string(h.Event), Run: list(h.Run), OnHost: h.OnHost})
	}
	return d
}

// envDiffDoc is `plat env diff A B --json`.
type envDiffDoc struct {
	SchemaVersion int             `json:"schema_version"`
	A             string          `json:"a"`
	B             string          `json:"b"`
	Same          bool            `json:"same"`
	Differences   []envDifference `json:"differences"`
}

// envDifference is one field; a or b is absent when only the other
// environment has the field.
type envDifference struct {
	Field string  `json:"field"`
	A     *string `json:"a,omitempty"`
	B     *string `json:"b,omitempty"`
}

func newEnvDiffDoc(a, b string, diffs []environments.FieldDiff) envDiffDoc {
	d := envDiffDoc{SchemaVersion: ui.SchemaVersion, A: a, B: b, Same: len(diffs) == 0, Differences: []envDifference{}}
	for _, f := range diffs {
		x := envDifference{Field: f.Field}
		if f.InA {
			x.A = &f.A
		}
		if f.InB {
			x.B = &f.B
		}
		d.Differences = append(d.Differences, x)
	}
	return d
}

// releasesDoc is `plat releases ENV --json`, newest last.
type releasesDoc struct {
	SchemaVersion int           `json:"schema_version"`
	Environment   string        `json:"environment"`
	Releases      []releaseJSON `json:"releases"`
}

type releaseJSON struct {
	ID      string    `json:"id"`
	Event   string    `json:"event"`
	Time    time.Time `json:"time"`
	Pusher  string    `json:"pusher"`
	GitSHA  string    `json:"git_sha"`
	Hosts   int       `json:"hosts"`
	Outcome string    `json:"outcome"`
	Current bool      `json:"current"`
	// PromotedFrom is set on a release plat promote made.
	PromotedFrom *promotedFromJSON `json:"promoted_from,omitempty"`
}

// promotedFromJSON is where a promoted release's build output came from.
type promotedFromJSON struct {
	Environment string `json:"environment"`
	Release     string `json:"release"`
	BuildHash   string `json:"build_hash"`
}

func newReleasesDoc(env string, rows []engine.ReleaseRow) releasesDoc {
	d := releasesDoc{SchemaVersion: ui.SchemaVersion, Environment: env, Releases: []releaseJSON{}}
	for _, r := range rows {
		rj := releaseJSON{ID: r.ID, Event: r.Event, Time: r.Time, Pusher: r.Pusher, GitSHA: r.GitSHA,
			Hosts: r.Hosts, Outcome: string(r.Outcome), Current: r.Current}
		if pf := r.PromotedFrom; pf != nil {
			rj.PromotedFrom = &promotedFromJSON{Environment: pf.Env, Release: pf.Release, BuildHash: pf.BuildHash}
		}
		d.Releases = append(d.Releases, rj)
	}
	return d
}

// diffDoc is `plat diff ENV A B --json`.
type diffDoc struct {
	SchemaVersion int          `json:"schema_version"`
	Environment   string       `json:"environment"`
	From          string       `json:"from"`
	To            string       `json:"to"`
	Changes       []changeJSON `json:"changes"`
}

// changeJSON is one changed path; a secret's path is its name.
type changeJSON struct {
	Path    string `json:"path"`
	Op      string `json:"op"`
	Private bool   `json:"private"`
	Secret  bool   `json:"secret"`
}

func changes(cs []release.Change) []changeJSON {
	out := []changeJSON{}
	for _, c := range cs {
		out = append(out, changeJSON{Path: c.Path, Op: c.Op, Private: c.Private, Secret: c.Secret})
	}
	return out
}

// statusDoc is `plat status ENV --json`.
type statusDoc struct {
	SchemaVersion int              `json:"schema_version"`
	Environment   string           `json:"environment"`
	Hosts         []hostStatusJSON `json:"hosts"`
}

type hostStatusJSON struct {
	Host      string        `json:"host"`
	Release   string        `json:"release,omitempty"`
	GitSHA    string        `json:"git_sha,omitempty"`
	Deployed  *time.Time    `json:"deployed,omitempty"`
	URL       string        `json:"url,omitempty"`
	Machine   string        `json:"machine,omitempty"`
	Processes []processJSON `json:"processes"`
	Drift     *driftJSON    `json:"drift,omitempty"`
	Error     string        `json:"error,omitempty"`
}

type processJSON struct {
	Type    string     `json:"type"`
	PID     int        `json:"pid,omitempty"`
	Running bool       `json:"running"`
	Since   *time.Time `json:"since,omitempty"`
	// Unit, ActiveState and SubState: processes = "systemd" only.
	Unit        string `json:"unit,omitempty"`
	ActiveState string `json:"active_state,omitempty"`
	SubState    string `json:"sub_state,omitempty"`
}

// driftJSON is present only with --verify.
type driftJSON struct {
	Clean   bool     `json:"clean"`
	Changed []string `json:"changed"`
	Missing []string `json:"missing"`
	Extra   []string `json:"extra"`
}

func newStatusDoc(env string, rows []engine.HostStatus) statusDoc {
	d := statusDoc{SchemaVersion: ui.SchemaVersion, Environment: env, Hosts: []hostStatusJSON{}}
	for _, r := range rows {
		h := hostStatusJSON{Host: r.Host, Release: r.Release, GitSHA: r.GitSHA, Deployed: ptrTime(r.Deployed), URL: r.URL,
			Machine: r.Machine, Processes: []processJSON{}, Error: r.Error}
		for _, p := range r.Processes {
			h.Processes = append(h.Processes, processJSON{Type: p.Type, PID: p.PID, Running: p.Running, Since: ptrTime(p.Since),
				Unit: p.Unit, ActiveState: p.ActiveState, SubState: p.SubState})
		}
		if r.Drift != nil {
			h.Drift = &driftJSON{Clean: r.Drift.Clean(), Changed: list(r.Drift.Changed), Missing: list(r.Drift.Missing), Extra: list(r.Drift.Extra)}
		}
		d.Hosts = append(d.Hosts, h)
	}
	return d
}

// lockDoc is `plat lock ENV [status] --json`.
type lockDoc struct {
	SchemaVersion int            `json:"schema_version"`
	Environment   string         `json:"environment"`
	Locked        bool           `json:"locked"`
	Hosts         []hostLockJSON `json:"hosts"`
}

// hostLockJSON is one host's lock; the holder's fields are present when
// locked.
type hostLockJSON struct {
	Host    string     `json:"host"`
	Locked  bool       `json:"locked"`
	Stale   bool       `json:"stale"`
	Owner   string     `json:"owner,omitempty"`
	Since   *time.Time `json:"since,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
	Release string     `json:"release,omitempty"`
	Message string     `json:"message,omitempty"`
	Command string     `json:"command,omitempty"`
	PID     int        `json:"pid,omitempty"`
	Error   string     `json:"error,omitempty"`
}

func newLockDoc(env string, states []engine.LockState) lockDoc {
	d := lockDoc{SchemaVersion: ui.SchemaVersion, Environment: env, Hosts: []hostLockJSON{}}
	for _, s := range states {
		h := hostLockJSON{Host: s.Host, Locked: s.Locked, Stale: s.Stale}
		if s.Err != nil {
			h.Error = s.Err.Error()
		}
		if s.Locked {
			d.Locked = true
			i := s.Info
			h.Owner, h.Since, h.Expires, h.Release, h.Message, h.Command, h.PID = i.Owner, ptrTime(i.Since), ptrTime(i.Expires), i.Release, i.Message, i.Command, i.PID
		}
		d.Hosts = append(d.Hosts, h)
	}
	return d
}

// lockBreakDoc is `plat lock ENV break --json`.
type lockBreakDoc struct {
	SchemaVersion int             `json:"schema_version"`
	Environment   string          `json:"environment"`
	Broken        []brokenLockRow `json:"broken"`
}

type brokenLockRow struct {
	Host  string    `json:"host"`
	Owner string    `json:"owner"`
	Since time.Time `json:"since"`
}

// psDoc is `plat ps ENV --json`.
type psDoc struct {
	SchemaVersion int             `json:"schema_version"`
	Environment   string          `json:"environment"`
	Processes     []psProcessJSON `json:"processes"`
}

// psProcessJSON is one process type on one host, or a host that could not
// be read (error set, no type).
type psProcessJSON struct {
	Host    string     `json:"host"`
	Release string     `json:"release,omitempty"`
	Type    string     `json:"type,omitempty"`
	PID     int        `json:"pid,omitempty"`
	State   string     `json:"state,omitempty"`
	Since   *time.Time `json:"since,omitempty"`
	Error   string     `json:"error,omitempty"`
}

func newPsDoc(env string, rows []engine.ProcessStatus) psDoc {
	d := psDoc{SchemaVersion: ui.SchemaVersion, Environment: env, Processes: []psProcessJSON{}}
	for _, r := range rows {
		d.Processes = append(d.Processes, psProcessJSON{Host: r.Host, Release: r.Release, Type: r.Type, PID: r.PID, State: r.State,
			Since: ptrTime(r.Since), Error: r.Error})
	}
	return d
}

// pluginsDoc is `plat plugins list --json`.
type pluginsDoc struct {
	SchemaVersion int          `json:"schema_version"`
	Plugins       []pluginJSON `json:"plugins"`
}

type pluginJSON struct {
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	Protocol int    `json:"protocol,omitempty"`
	Path     string `json:"path"`
	Error    string `json:"error,omitempty"`
}

// pluginLockDoc is `plat plugins install|lock --json`: the lock entry.
type pluginLockDoc struct {
	SchemaVersion int    `json:"schema_version"`
	Name          string `json:"name"`
	Version       string `json:"version,omitempty"`
	Checksum      string `json:"checksum"`
	Path          string `json:"path"`
	LockFile      string `json:"lock_file"`
}

// pluginTestDoc is `plat plugins test --json` when every check passed
// (the checks' lines go to stderr).
type pluginTestDoc struct {
	SchemaVersion int    `json:"schema_version"`
	Path          string `json:"path"`
	Passed        bool   `json:"passed"`
}

// imageDoc is `plat image build-base --json`.
type imageDoc struct {
	SchemaVersion int    `json:"schema_version"`
	Tag           string `json:"tag"`
}

// versionDoc is `plat version --json`.
type versionDoc struct {
	SchemaVersion  int    `json:"schema_version"`
	Version        string `json:"version"`
	Commit         string `json:"commit,omitempty"`
	Date           string `json:"date,omitempty"` // the commit's time, RFC 3339
	Modified       bool   `json:"modified"`       // the work tree had uncommitted changes
	GoVersion      string `json:"go_version"`
	OS             string `json:"os"`
	Arch           string `json:"arch"`
	PluginProtocol int    `json:"plugin_protocol"`
}

// sshConfigDoc is `plat ssh-config ENV [HOST] --json`: what plat resolved
// to reach each host.
type sshConfigDoc struct {
	SchemaVersion int            `json:"schema_version"`
	Environment   string         `json:"environment"`
	Hosts         []ssh.Resolved `json:"hosts"`
}

// Results: the Result of the last event of a streaming command.

// pushResult ends push and rollback (and push --plan, with plan set).
type pushResult struct {
	Environment string `json:"environment"`
	Release     string `json:"release"`
	// Unchanged: every host already ran the same content (nothing done).
	Unchanged bool `json:"unchanged"`
	// URLs maps each host to the URL that answers for it.
	URLs  map[string]string   `json:"urls"`
	Hosts []ui.JSONSummaryRow `json:"hosts"`
	Plan  *planJSON           `json:"plan,omitempty"`
}

type planJSON struct {
	GitSHA    string            `json:"git_sha"`
	Files     int               `json:"files"`
	SizeBytes int64             `json:"size_bytes"`
	Rollout   string            `json:"rollout"`
	Stages    [][]string        `json:"stages"`
	Changes   []planChangesJSON `json:"changes"`
	Tasks     []string          `json:"tasks"`
	Steps     []planStepsJSON   `json:"steps"`
}

// planStepsJSON is the step list of the hosts of one stage.
type planStepsJSON struct {
	Stage int        `json:"stage"`
	Hosts []string   `json:"hosts"`
	Steps []stepJSON `json:"steps"`
}

// stepJSON is one step: what runs on the host, what the host's journal
// records once it is done, and the step that undoes it.
type stepJSON struct {
	Name    string `json:"name"`
	Does    string `json:"does"`
	Journal string `json:"journal,omitempty"`
	Undo    string `json:"undo,omitempty"`
}

// planChangesJSON are the changes for the hosts that run release from
// ("" for hosts with no release yet).
type planChangesJSON struct {
	From    string       `json:"from"`
	Hosts   []string     `json:"hosts"`
	Changes []changeJSON `json:"changes"`
}

func newPushResult(env string, res *engine.PushResult) pushResult {
	r := pushResult{Environment: env, Unchanged: res.Unchanged, URLs: map[string]string{}, Hosts: ui.SummaryRows(res.Rows)}
	if res.Release != nil {
		r.Release = res.Release.ID
	}
	for h, u := range res.URLs {
		r.URLs[h] = u
	}
	if pl := res.Plan; pl != nil {
		r.Release = pl.Release
		p := &planJSON{GitSHA: pl.GitSHA, Files: pl.Files, SizeBytes: pl.Size, Rollout: pl.Rollout, Stages: [][]string{},
			Changes: []planChangesJSON{}, Tasks: list(pl.Tasks), Steps: []planStepsJSON{}}
		for _, g := range pl.Steps {
			ps := planStepsJSON{Stage: g.Stage, Hosts: list(g.Hosts), Steps: []stepJSON{}}
			for _, s := range g.Steps {
				sj := stepJSON{Name: s.Name, Does: s.Does, Journal: s.Journal}
				if s.Undo != nil {
					sj.Undo = s.Undo.Name
				}
				ps.Steps = append(ps.Steps, sj)
			}
			p.Steps = append(p.Steps, ps)
		}
		for _, s := range pl.Stages {
			p.Stages = append(p.Stages, list(s.Hosts))
		}
		for _, c := range pl.Changes {
			p.Changes = append(p.Changes, planChangesJSON{From: c.From, Hosts: list(c.Hosts), Changes: changes(c.Changes)})
		}
		r.Plan = p
	}
	return r
}

// machinesResult ends up and down.
type machinesResult struct {
	Environment string        `json:"environment"`
	Machines    []machineJSON `json:"machines"`
}

type machineJSON struct {
	Host   string `json:"host"`
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"`
}

func newMachinesResult(env string, ms []platform.MachineStatus) machinesResult {
	r := machinesResult{Environment: env, Machines: []machineJSON{}}
	for _, m := range ms {
		r.Machines = append(r.Machines, machineJSON{Host: m.Host, State: m.State, Detail: m.Detail})
	}
	return r
}

// lifecycleResult ends start, stop and restart.
type lifecycleResult struct {
	Environment string `json:"environment"`
	// Action is "started", "stopped" or "restarted".
	Action string `json:"action"`
	// Types are the process types asked for; [] means all.
	Types []string `json:"types"`
}

// execResult is the result of plat exec --json; each host's output and
// exit code are in its output and step_end events.
type execResult struct {
	Environment string   `json:"environment"`
	Command     []string `json:"command"`
}

// runResult is the result of plat run --json.
type runResult struct {
	Environment string `json:"environment"`
	Task        string `json:"task"`
}

// logsResult is the result of plat logs --json (after --follow, once
// interrupted).
type logsResult struct {
	Environment string `json:"environment"`
}
