package wire

import (
	"io/fs"
	"time"

	"github.com/plat-sh/plat/platform"
	pluginv1 "github.com/plat-sh/plat/plugins/proto"
)

// Conversions of the scheduler (engine provider) messages. Durations
// travel as milliseconds, times as Unix nanoseconds (0: the zero time).

func ms(d time.Duration) int64     { return d.Milliseconds() }
func fromMS(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
func timeOf(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

// ReleaseToProto converts a release reference.
func ReleaseToProto(r platform.ReleaseRef) *pluginv1.ReleaseRef {
	return &pluginv1.ReleaseRef{Id: r.ID, GitSha: r.GitSHA, ManifestHash: r.ManifestHash, Pusher: r.Pusher, TimeUnixNano: unixNano(r.Time), Message: r.Message}
}

// ReleaseFromProto converts a release reference back.
func ReleaseFromProto(r *pluginv1.ReleaseRef) platform.ReleaseRef {
	return platform.ReleaseRef{ID: r.GetId(), GitSHA: r.GetGitSha(), ManifestHash: r.GetManifestHash(), Pusher: r.GetPusher(), Time: timeOf(r.GetTimeUnixNano()), Message: r.GetMessage()}
}

// TreeToProto converts a release tree.
func TreeToProto(t []platform.TreeEntry) []*pluginv1.TreeEntry {
	out := make([]*pluginv1.TreeEntry, 0, len(t))
	for _, e := range t {
		out = append(out, &pluginv1.TreeEntry{Path: e.Path, Dir: e.Dir, Link: e.Link, Mode: uint32(e.Mode), Size: e.Size, Sha256: e.SHA256})
	}
	return out
}

// TreeFromProto converts a release tree back; nil stays nil.
func TreeFromProto(t []*pluginv1.TreeEntry) []platform.TreeEntry {
	if t == nil {
		return nil
	}
	out := make([]platform.TreeEntry, 0, len(t))
	for _, e := range t {
		out = append(out, platform.TreeEntry{Path: e.GetPath(), Dir: e.GetDir(), Link: e.GetLink(), Mode: fs.FileMode(e.GetMode()), Size: e.GetSize(), SHA256: e.GetSha256()})
	}
	return out
}

// PrivateToProto converts private files.
func PrivateToProto(p []platform.PrivateFile) []*pluginv1.PrivateFile {
	out := make([]*pluginv1.PrivateFile, 0, len(p))
	for _, f := range p {
		out = append(out, &pluginv1.PrivateFile{Path: f.Path, Mode: uint32(f.Mode), Content: f.Content})
	}
	return out
}

// PrivateFromProto converts private files back.
func PrivateFromProto(p []*pluginv1.PrivateFile) []platform.PrivateFile {
	var out []platform.PrivateFile
	for _, f := range p {
		out = append(out, platform.PrivateFile{Path: f.GetPath(), Mode: fs.FileMode(f.GetMode()), Content: f.GetContent()})
	}
	return out
}

// TasksToProto converts release tasks.
func TasksToProto(ts []platform.Task) []*pluginv1.Task {
	out := make([]*pluginv1.Task, 0, len(ts))
	for _, t := range ts {
		out = append(out, &pluginv1.Task{Name: t.Name, When: string(t.When), Run: t.Run, Role: t.Role, TimeoutMs: ms(t.Timeout)})
	}
	return out
}

// TasksFromProto converts release tasks back.
func TasksFromProto(ts []*pluginv1.Task) []platform.Task {
	var out []platform.Task
	for _, t := range ts {
		out = append(out, platform.Task{Name: t.GetName(), When: platform.TaskPhase(t.GetWhen()), Run: t.GetRun(), Role: t.GetRole(), Timeout: fromMS(t.GetTimeoutMs())})
	}
	return out
}

// HealthToProto converts a health check; nil stays nil.
func HealthToProto(h *platform.HealthCheck) *pluginv1.HealthCheck {
	if h == nil {
		return nil
	}
	return &pluginv1.HealthCheck{Http: h.HTTP, Tcp: h.TCP, Command: h.Command, Port: int32(h.Port), Status: int32(h.Status),
		TimeoutMs: ms(h.Timeout), IntervalMs: ms(h.Interval), Retries: int32(h.Retries)}
}

// HealthFromProto converts a health check back; nil stays nil.
func HealthFromProto(h *pluginv1.HealthCheck) *platform.HealthCheck {
	if h == nil {
		return nil
	}
	return &platform.HealthCheck{HTTP: h.GetHttp(), TCP: h.GetTcp(), Command: h.GetCommand(), Port: int(h.GetPort()), Status: int(h.GetStatus()),
		Timeout: fromMS(h.GetTimeoutMs()), Interval: fromMS(h.GetIntervalMs()), Retries: int(h.GetRetries())}
}

// RolloutToProto converts a rollout policy (its health check travels as
// DeployStart.health).
func RolloutToProto(r platform.Rollout) *pluginv1.Rollout {
	return &pluginv1.Rollout{Stages: r.Stages, PauseMs: ms(r.Pause), Confirm: r.Confirm, MaxParallel: int32(r.MaxParallel), OnFailure: r.OnFailure,
		MaxFailures: r.MaxFailures, DrainTimeoutMs: ms(r.DrainTimeout), Restart: r.Restart}
}

// RolloutFromProto converts a rollout policy back.
func RolloutFromProto(r *pluginv1.Rollout) platform.Rollout {
	return platform.Rollout{Stages: r.GetStages(), Pause: fromMS(r.GetPauseMs()), Confirm: r.GetConfirm(), MaxParallel: int(r.GetMaxParallel()),
		OnFailure: r.GetOnFailure(), MaxFailures: r.GetMaxFailures(), DrainTimeout: fromMS(r.GetDrainTimeoutMs()), Restart: r.GetRestart()}
}

// ServicesToProto converts service statuses.
func ServicesToProto(ss []platform.ServiceStatus) []*pluginv1.ServiceStatus {
	out := make([]*pluginv1.ServiceStatus, 0, len(ss))
	for _, s := range ss {
		ps := &pluginv1.ServiceStatus{Name: s.Name, Process: s.Process, Release: s.Release, Replicas: int32(s.Replicas), Running: int32(s.Running), Update: s.Update, Url: s.URL}
		for _, t := range s.Tasks {
			ps.Tasks = append(ps.Tasks, &pluginv1.TaskStatus{Id: t.ID, Slot: int32(t.Slot), Node: t.Node, Release: t.Release, State: t.State, Desired: t.Desired, Error: t.Error, Url: t.URL})
		}
		out = append(out, ps)
	}
	return out
}

// ServicesFromProto converts service statuses back.
func ServicesFromProto(ss []*pluginv1.ServiceStatus) []platform.ServiceStatus {
	var out []platform.ServiceStatus
	for _, s := range ss {
		ps := platform.ServiceStatus{Name: s.GetName(), Process: s.GetProcess(), Release: s.GetRelease(), Replicas: int(s.GetReplicas()), Running: int(s.GetRunning()), Update: s.GetUpdate(), URL: s.GetUrl()}
		for _, t := range s.GetTasks() {
			ps.Tasks = append(ps.Tasks, platform.TaskStatus{ID: t.GetId(), Slot: int(t.GetSlot()), Node: t.GetNode(), Release: t.GetRelease(), State: t.GetState(), Desired: t.GetDesired(), Error: t.GetError(), URL: t.GetUrl()})
		}
		out = append(out, ps)
	}
	return out
}

// HistoryToProto converts a deploy history.
func HistoryToProto(h []platform.Deployment) []*pluginv1.Deployment {
	out := make([]*pluginv1.Deployment, 0, len(h))
	for _, d := range h {
		out = append(out, &pluginv1.Deployment{Event: d.Event, Release: d.Release, Previous: d.Previous, TimeUnixNano: unixNano(d.Time), Pusher: d.Pusher,
			GitSha: d.GitSHA, ManifestHash: d.ManifestHash, Outcome: d.Outcome})
	}
	return out
}

// HistoryFromProto converts a deploy history back.
func HistoryFromProto(h []*pluginv1.Deployment) []platform.Deployment {
	var out []platform.Deployment
	for _, d := range h {
		out = append(out, platform.Deployment{Event: d.GetEvent(), Release: d.GetRelease(), Previous: d.GetPrevious(), Time: timeOf(d.GetTimeUnixNano()),
			Pusher: d.GetPusher(), GitSHA: d.GetGitSha(), ManifestHash: d.GetManifestHash(), Outcome: d.GetOutcome()})
	}
	return out
}
