package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/platform/release"
)

// HistoryEntry is one line of a host's .plat/history: what happened to
// which release, when and by whom. Hosts hold the truth; every pusher reads
// it, so a team sees one history whoever pushed.
type HistoryEntry struct {
	Event        string           `json:"event"` // deploy, rollback, lock-break
	Release      string           `json:"release,omitempty"`
	Previous     string           `json:"previous,omitempty"`
	Time         time.Time        `json:"time"`
	Pusher       string           `json:"pusher"`
	GitSHA       string           `json:"git_sha,omitempty"`
	Outcome      platform.Outcome `json:"outcome,omitempty"`
	ManifestHash string           `json:"manifest_hash,omitempty"`
	Push         string           `json:"push,omitempty"`
	Note         string           `json:"note,omitempty"`
}

// History events.
const (
	historyDeploy    = "deploy"
	historyRollback  = "rollback"
	historyLockBreak = "lock-break"
)

func historyLine(h HistoryEntry) string {
	b, _ := json.Marshal(h)
	return string(b)
}

// parseHistory reads history lines; a line that is not a history entry
// (garbage, a line cut short by a full disk) or that names something other
// than a release id is skipped and counted in bad.
func parseHistory(lines []string) (out []HistoryEntry, bad int) {
	for _, l := range lines {
		var h HistoryEntry
		if json.Unmarshal([]byte(l), &h) != nil || !okID(h.Release) || !okID(h.Previous) {
			bad++
			continue
		}
		out = append(out, h)
	}
	return out, bad
}

func okID(id string) bool { return id == "" || release.ValidID(id) }

// hostState is what a target has, read in one round trip.
type hostState struct {
	hostcmd.HostState
	manifest *release.Manifest
	history  []HistoryEntry
	// found lists what plat ignored on the host because it is not state
	// plat writes: a current link that leaves releases/, odd release
	// names, unreadable history lines.
	found []string
}

// newHostState keeps only what can name a release under deploy_to.
func newHostState(hs hostcmd.HostState) *hostState {
	st := &hostState{HostState: hs}
	if st.Current != "" && !release.ValidID(st.Current) {
		st.found = append(st.found, fmt.Sprintf("current points to %q, not to a release in releases/: ignored, the next switch replaces it", hs.Current))
		st.Current, st.Manifest, st.ManifestSHA256 = "", "", ""
	}
	var rels []string
	for _, r := range st.Releases {
		if release.ValidID(r) {
			rels = append(rels, r)
		} else {
			st.found = append(st.found, fmt.Sprintf("releases/%s is not a release plat made: ignored", r))
		}
	}
	st.Releases = rels
	for _, name := range sortedKeys(hs.Links) {
		st.found = append(st.found, fmt.Sprintf("releases/%s is a symbolic link to %q, not a release plat made: ignored (never switched to, written through or pruned)", name, hs.Links[name]))
		if name == st.Current {
			st.found = append(st.found, fmt.Sprintf("current points to releases/%s, a symbolic link: ignored, the next switch replaces it", name))
			st.Current, st.Manifest, st.ManifestSHA256 = "", "", ""
		}
	}
	if st.Current != "" && !st.has(st.Current) {
		st.found = append(st.found, fmt.Sprintf("current points to releases/%s, which does not exist: ignored, the next switch replaces it", st.Current))
		st.Current, st.Manifest, st.ManifestSHA256 = "", "", ""
	}
	var bad int
	st.history, bad = parseHistory(st.History)
	if bad > 0 {
		st.found = append(st.found, fmt.Sprintf(".plat/history has %d unreadable line(s): skipped", bad))
	}
	return st
}

func readState(ctx context.Context, t *platform.Target) (*hostState, error) {
	return readStateFrom(ctx, t, nil)
}

// readStateFrom reads the host's state; with known, it first asks only
// for the current manifest's hash and takes the manifest from known (the
// local store), reading it from the host only when known lacks it.
func readStateFrom(ctx context.Context, t *platform.Target, known func(id, hash string) *release.Manifest) (*hostState, error) {
	if known != nil {
		out, err := run(ctx, t, hostcmd.StateSummary(t.DeployTo))
		if err != nil {
			return nil, err
		}
		st := newHostState(hostcmd.ParseState(out))
		if st.Current == "" || st.ManifestSHA256 == "" {
			return st, nil
		}
		if m := known(st.Current, st.ManifestSHA256); m != nil {
			st.manifest = m
			return st, nil
		}
	}
	out, err := run(ctx, t, hostcmd.State(t.DeployTo))
	if err != nil {
		return nil, err
	}
	st := newHostState(hostcmd.ParseState(out))
	if st.Current != "" && st.Manifest != "" {
		m, err := release.Parse(strings.NewReader(st.Manifest))
		if err != nil {
			// A host manifest plat cannot trust is no base for an
			// upload: the release is sent whole.
			st.found = append(st.found, fmt.Sprintf("manifest of %s is unreadable (%v): not used", st.Current, err))
		} else {
			st.manifest = m
		}
	}
	return st, nil
}

// reportFound says what plat found on the host and ignored, naming the
// file under deploy_to.
func (e *Engine) reportFound(t *platform.Target, st *hostState) {
	for _, f := range st.found {
		e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: "found on the host in " + t.DeployTo + ": " + f})
	}
}

// previousOf returns the release that was current before cur, from history.
func (h *hostState) previousOf(cur string) string {
	for i := len(h.history) - 1; i >= 0; i-- {
		x := h.history[i]
		if x.Release == cur && (x.Event == historyDeploy || x.Event == historyRollback) && x.Outcome == platform.OutcomeOK {
			return x.Previous
		}
	}
	return ""
}

func (h *hostState) has(id string) bool {
	for _, r := range h.Releases {
		if r == id {
			return true
		}
	}
	return false
}

// ReleaseRow is one release in `plat releases`.
type ReleaseRow struct {
	ID      string           `json:"id"`
	Time    time.Time        `json:"time"`
	Pusher  string           `json:"pusher"`
	GitSHA  string           `json:"git_sha"`
	Hosts   int              `json:"hosts"`
	Outcome platform.Outcome `json:"outcome"`
	Current bool             `json:"current"`
	Event   string           `json:"event"`
	// PromotedFrom is where a promoted release's build came from.
	PromotedFrom *release.Promotion `json:"promoted_from,omitempty"`
}

// Releases merges every host's history (the truth) with the local store.
func (e *Engine) Releases(ctx context.Context, envName string) ([]ReleaseRow, error) {
	env, p, err := e.environment(envName)
	if err != nil {
		return nil, err
	}
	if s, ok := schedulerOf(p); ok {
		return e.releasesScheduled(ctx, env, s)
	}
	ts, closeAll, err := e.targets(ctx, env, p, nil)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	states, errs := e.readStates(ctx, envName, ts)
	if len(errs) > 0 {
		return nil, &DeployError{Op: "read history", Hosts: errs}
	}
	return mergeHistory(states, e.store(), envName), nil
}

func mergeHistory(states map[string]*hostState, st *release.Store, env string) []ReleaseRow {
	type key struct{ id, event, push string }
	rows := map[key]*ReleaseRow{}
	// hosts holds each host's latest outcome: a host that failed and then
	// finished the same push (plat push --resume) counts as ok.
	hosts := map[key]map[string]platform.Outcome{}
	current := map[string]bool{}
	for host, s := range states {
		current[s.Current] = true
		for _, h := range s.history {
			if h.Release == "" {
				continue
			}
			k := key{h.Release, h.Event, h.Push}
			r := rows[k]
			if r == nil {
				r = &ReleaseRow{ID: h.Release, Time: h.Time, Pusher: h.Pusher, GitSHA: h.GitSHA, Event: h.Event, Outcome: h.Outcome}
				rows[k] = r
				hosts[k] = map[string]platform.Outcome{}
			}
			hosts[k][host] = h.Outcome
		}
	}
	// Releases recorded locally but never deployed anywhere (a failed build
	// never records; an upload that failed everywhere does).
	if recs, err := st.List(env); err == nil {
		for _, rec := range recs {
			found := false
			for k := range rows {
				if k.id == rec.ID {
					found = true
				}
			}
			if !found {
				rows[key{rec.ID, historyDeploy, ""}] = &ReleaseRow{ID: rec.ID, Time: rec.Time, Pusher: rec.Pusher, GitSHA: rec.GitSHA, Event: historyDeploy, Outcome: platform.OutcomeNotDeployed}
			}
		}
	}
	var out []ReleaseRow
	for k, r := range rows {
		r.Hosts = len(hosts[k])
		if len(hosts[k]) > 0 {
			r.Outcome = platform.OutcomeOK
			for _, h := range sortedHosts(hosts[k]) {
				if o := hosts[k][h]; o != platform.OutcomeOK {
					r.Outcome = o
					break
				}
			}
		}
		r.Current = current[r.ID]
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return release.Num(out[i].ID) < release.Num(out[j].ID)
	})
	annotatePromotions(out, st, env)
	return out
}

// readStates reads every host's state; manifests of env's releases come
// from the local store when it has them (each parsed once).
func (e *Engine) readStates(ctx context.Context, env string, ts []*platform.Target) (map[string]*hostState, map[string]error) {
	var mu sync.Mutex
	states := map[string]*hostState{}
	var kmu sync.Mutex
	cache := map[string]*release.Manifest{}
	known := func(id, hash string) *release.Manifest {
		kmu.Lock()
		defer kmu.Unlock()
		k := id + " " + hash
		if m, ok := cache[k]; ok {
			return m
		}
		var m *release.Manifest
		if rel, err := e.store().Get(env, id); err == nil && rel.ManifestHash == hash {
			if sm, err := e.store().Manifest(env, id); err == nil && sm.Hash() == hash {
				m = sm
			}
		}
		cache[k] = m
		return m
	}
	errs := e.forEach(ctx, ts, 0, func(ctx context.Context, t *platform.Target) error {
		s, err := readStateFrom(ctx, t, known)
		if err != nil {
			return &HostError{Host: t.Name, Step: "read state", Err: err}
		}
		e.reportFound(t, s)
		mu.Lock()
		states[t.Name] = s
		mu.Unlock()
		return nil
	})
	return states, errs
}

// HostStatus is one host in `plat status`.
type HostStatus struct {
	Host      string            `json:"host"`
	Release   string            `json:"release"`
	GitSHA    string            `json:"git_sha,omitempty"`
	Deployed  time.Time         `json:"deployed,omitempty"`
	Processes []hostcmd.Process `json:"processes,omitempty"`
	URL       string            `json:"url,omitempty"`
	Machine   string            `json:"machine,omitempty"`
	Drift     *Drift            `json:"drift,omitempty"`
	Error     string            `json:"error,omitempty"`
}

// Drift is what differs between a host's current release and its manifest.
type Drift struct {
	Changed []string `json:"changed,omitempty"`
	Missing []string `json:"missing,omitempty"`
	Extra   []string `json:"extra,omitempty"`
}

// Clean reports whether nothing drifted.
func (d *Drift) Clean() bool { return len(d.Changed)+len(d.Missing)+len(d.Extra) == 0 }

// Status reports each host's current release and processes; with verify
// it checks every file of the current release against its manifest.
func (e *Engine) Status(ctx context.Context, envName string, verify bool) ([]HostStatus, error) {
	env, p, err := e.environment(envName)
	if err != nil {
		return nil, err
	}
	if s, ok := schedulerOf(p); ok {
		return e.statusScheduled(ctx, env, s)
	}
	var machines map[string]platform.MachineStatus
	if ms, ok := p.(platform.MachineStatuser); ok {
		list, err := ms.Machines(ctx, &platform.TargetsRequest{App: e.Project.App, Env: env, StateDir: e.StateDir})
		if err != nil {
			return nil, fmt.Errorf("machines of %s: %w", envName, err)
		}
		machines = map[string]platform.MachineStatus{}
		for _, m := range list {
			machines[m.Host] = m
		}
		var up []string
		var rows []HostStatus
		for _, h := range env.Hosts() {
			m, ok := machines[h.Name]
			if !ok {
				m = platform.MachineStatus{Host: h.Name, State: "missing"}
			}
			if m.State == "running" {
				up = append(up, h.Name)
				continue
			}
			rows = append(rows, HostStatus{Host: h.Name, Machine: m.State, Error: "machine is " + m.State + ": run `plat up " + envName + "`"})
		}
		if len(up) == 0 {
			return rows, nil
		}
		live, err := e.hostStatuses(ctx, env, p, up, verify)
		for i := range live {
			live[i].Machine = machines[live[i].Host].State
		}
		return orderStatuses(env, append(rows, live...)), err
	}
	return e.hostStatuses(ctx, env, p, nil, verify)
}

func orderStatuses(env *platform.Environment, rows []HostStatus) []HostStatus {
	idx := map[string]int{}
	for i, h := range env.Hosts() {
		idx[h.Name] = i
	}
	sort.SliceStable(rows, func(i, j int) bool { return idx[rows[i].Host] < idx[rows[j].Host] })
	return rows
}

func (e *Engine) hostStatuses(ctx context.Context, env *platform.Environment, p platform.Provider, hosts []string, verify bool) ([]HostStatus, error) {
	ts, closeAll, err := e.targets(ctx, env, p, hosts)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	return each(ts, func(t *platform.Target) HostStatus { return e.hostStatus(ctx, env, t, verify) }), nil
}

func (e *Engine) hostStatus(ctx context.Context, env *platform.Environment, t *platform.Target, verify bool) HostStatus {
	hs := HostStatus{Host: t.Name, URL: t.PublicURL}
	st, err := readState(ctx, t)
	if err != nil {
		hs.Error = err.Error()
		return hs
	}
	e.reportFound(t, st)
	hs.Release = st.Current
	for i := len(st.history) - 1; i >= 0; i-- {
		h := st.history[i]
		if h.Release == st.Current && h.Outcome == platform.OutcomeOK {
			hs.GitSHA, hs.Deployed = h.GitSHA, h.Time
			break
		}
	}
	if ps, err := e.supervisor(env, t).List(ctx, nil); err == nil {
		for _, p := range ps {
			hs.Processes = append(hs.Processes, p.Process)
		}
	}
	if verify && st.Current != "" {
		d, err := e.verify(ctx, t, st.manifest)
		if err != nil {
			hs.Error = err.Error()
		}
		hs.Drift = d
	}
	return hs
}

// verify compares the host's current release with its manifest.
func (e *Engine) verify(ctx context.Context, t *platform.Target, m *release.Manifest) (*Drift, error) {
	if m == nil {
		return nil, fmt.Errorf("current release has no manifest")
	}
	out, err := run(ctx, t, hostcmd.Verify(t.DeployTo))
	if err != nil {
		return nil, err
	}
	failedPart, listing, _ := strings.Cut(out, "--- listing\n")
	failedPart = strings.TrimPrefix(failedPart, "--- failed\n")
	d := &Drift{}
	changed := map[string]bool{}
	for _, l := range strings.Split(failedPart, "\n") {
		if p, ok := strings.CutSuffix(l, ": FAILED"); ok {
			p = strings.TrimPrefix(p, "./")
			changed[p] = true
		}
	}
	have := map[string]string{}
	for _, l := range strings.Split(listing, "\n") {
		f := strings.SplitN(l, " ", 4)
		if len(f) == 4 {
			have[strings.TrimPrefix(f[3], "./")] = l
		}
	}
	want := map[string]bool{}
	for _, line := range strings.Split(string(m.Listing()), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) != 4 {
			continue
		}
		p := strings.TrimPrefix(f[3], "./")
		want[p] = true
		got, ok := have[p]
		switch {
		case !ok:
			// A sha256sum failure for a missing file is "missing", not "changed".
			delete(changed, p)
			d.Missing = append(d.Missing, p)
		case got != line:
			changed[p] = true
		}
	}
	linked := map[string]bool{}
	for _, l := range append(append([]string{}, e.Project.App.LinkedDirs...), e.Project.App.LinkedFiles...) {
		linked[strings.Trim(l, "/")] = true
	}
	for p := range have {
		if !want[p] && !linked[p] {
			d.Extra = append(d.Extra, p)
		}
	}
	for p := range changed {
		d.Changed = append(d.Changed, p)
	}
	sort.Strings(d.Changed)
	sort.Strings(d.Missing)
	sort.Strings(d.Extra)
	return d, nil
}

// Diff lists the files that changed between two recorded releases.
func (e *Engine) Diff(ctx context.Context, envName, a, b string) ([]release.Change, error) {
	if e.Project.Environment(envName) == nil {
		_, _, err := e.environment(envName)
		return nil, err
	}
	for _, id := range []string{a, b} {
		if err := e.teamFetch(ctx, envName, id); err != nil {
			return nil, err
		}
	}
	st := e.store()
	ma, err := st.Manifest(envName, a)
	if err != nil {
		return nil, fmt.Errorf("%w: release %s of %s is not in the local store (.plat/store): %v", ErrConfig, a, envName, err)
	}
	mb, err := st.Manifest(envName, b)
	if err != nil {
		return nil, fmt.Errorf("%w: release %s of %s is not in the local store (.plat/store): %v", ErrConfig, b, envName, err)
	}
	changes := release.Diff(ma, mb)
	ra, errA := st.Get(envName, a)
	rb, errB := st.Get(envName, b)
	if errA == nil && errB == nil {
		changes = append(changes, secretChanges(ra.Secrets, rb.Secrets)...)
	}
	return changes, nil
}

// secretChanges compares two releases' secret digests by name.
func secretChanges(a, b map[string]string) []release.Change {
	var out []release.Change
	names := map[string]bool{}
	for k := range a {
		names[k] = true
	}
	for k := range b {
		names[k] = true
	}
	list := make([]string, 0, len(names))
	for k := range names {
		list = append(list, k)
	}
	sort.Strings(list)
	for _, k := range list {
		da, ina := a[k]
		db, inb := b[k]
		switch {
		case !ina:
			out = append(out, release.Change{Path: k, Op: "added", Secret: true})
		case !inb:
			out = append(out, release.Change{Path: k, Op: "removed", Secret: true})
		case da != db:
			out = append(out, release.Change{Path: k, Op: "changed", Secret: true})
		}
	}
	return out
}

// PrivateContent returns a private file's content in a release (for diff
// --show-private only).
func (e *Engine) PrivateContent(envName, id, path string) (string, error) {
	st := e.store()
	m, err := st.Manifest(envName, id)
	if err != nil {
		return "", err
	}
	ent, ok := m.Lookup(path)
	if !ok {
		return "", nil
	}
	f, err := st.Open(ent.Hash)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	buf := make([]byte, 64*1024)
	for {
		n, err := f.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String(), nil
}

func sortStrings(s []string) { sort.Strings(s) }
