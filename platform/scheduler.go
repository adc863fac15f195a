package platform

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// Scheduler is an optional Provider ability: the environment runs on an
// engine (Docker Swarm; Kubernetes or Nomad as plugins) that places and
// supervises the processes itself. plat builds and records the release
// exactly as for hosts (same manifest, same hash); then, instead of
// uploading to hosts and switching them, it asks the provider to Publish
// the release tree as the engine's artifact (an image) and to Deploy it:
// release tasks once, then a rolling update of one service per process
// type, which the engine performs and, on failure, rolls back.
//
// A provider with this ability has no hosts: its Schema sets Scheduled,
// so environments need no cluster block, and the engine's push, rollback,
// status, releases, logs and exec go through these methods instead of
// Targets.
type Scheduler interface {
	// Publish turns a release tree into the engine's artifact and makes it
	// available to every node (for Swarm: an image, pushed to the
	// configured registry). Publishing a release id twice gives the same
	// artifact.
	Publish(ctx context.Context, req *PublishRequest) (*PublishResponse, error)
	// Deploy runs the release tasks once on the engine, then rolls every
	// process type onto the artifact with the environment's rollout
	// policy. It returns when every service runs the release, or with an
	// error naming the service that failed (a *RolloutError after the
	// engine rolled back or paused).
	Deploy(ctx context.Context, req *DeployRequest) (*DeployResponse, error)
	// Inspect reports the services, their tasks, and the deploy history
	// the engine keeps (newest last).
	Inspect(ctx context.Context, req *InspectRequest) (*InspectResponse, error)
	// Logs writes the processes' output to req.Output.
	Logs(ctx context.Context, req *LogsRequest) error
	// Exec runs a command in one running task of a process type.
	Exec(ctx context.Context, req *ScheduledExecRequest) error
}

// ReleaseRef identifies a recorded release for a Scheduler.
type ReleaseRef struct {
	ID           string
	GitSHA       string
	ManifestHash string
	Pusher       string
	Time         time.Time
	Message      string
}

// TreeEntry is one path of a release tree (the manifest's public part;
// private files travel as secrets in DeployRequest.Private).
type TreeEntry struct {
	Path string // slash-separated, relative
	Dir  bool
	// Link is a symlink's target ("" for files and directories).
	Link string
	Mode fs.FileMode
	Size int64
	// SHA256 names a file's content for PublishRequest.Open.
	SHA256 string
}

// PublishRequest asks a Scheduler to make a release's artifact.
type PublishRequest struct {
	App      *App
	Env      *Environment
	StateDir string
	Release  ReleaseRef
	// Tree is the release's public content, sorted by path.
	Tree []TreeEntry
	// Open reads a file's content by its SHA256.
	Open func(sha256 string) (io.ReadCloser, error)
	// Base is the release the engine runs now ("" for none) and BaseTree
	// its tree, so the artifact can reuse what did not change.
	Base     string
	BaseTree []TreeEntry
	Progress func(line string)
}

// PublishResponse names the artifact.
type PublishResponse struct {
	// Artifact is what DeployRequest.Artifact takes (an image reference).
	Artifact string
	// Note says what was built and sent, for the push's output.
	Note string
}

// PrivateFile is a file of the private settings: the engine mounts it
// into the release at Path with Mode, from one of its secret objects.
type PrivateFile struct {
	Path    string
	Mode    fs.FileMode
	Content []byte
}

// DeployRequest asks a Scheduler to roll an environment onto a release.
type DeployRequest struct {
	App      *App
	Env      *Environment
	StateDir string
	Release  ReleaseRef
	Artifact string
	// Processes is the Procfile (type → command).
	Processes map[string]string
	// Environ is the processes' plain environment (app and environment
	// env, PLAT_ENV, PLAT_RELEASE); PORT is the provider's to set.
	Environ map[string]string
	// Secrets are secret values given to the processes as environment
	// variables: engine secret objects only, never labels, specs or output.
	Secrets map[string]string
	Private []PrivateFile
	// Tasks are the release tasks, run once, in order, before the update.
	Tasks   []Task
	Health  *HealthCheck
	Rollout Rollout
	// Event is "deploy" or "rollback" (for the engine's history).
	Event string
	// Previous is the release the engine ran before ("" for none).
	Previous string
	Progress func(line string)
	// Confirm asks the user before each later stage of a rollout whose
	// pause is "confirm" (Rollout.Confirm); nil means no one can answer
	// (--yes, or a run that is not interactive): every stage goes on
	// without asking. A false answer stops the rollout as a failure would
	// (Rollout.OnFailure decides: back to the previous release, or halt).
	Confirm func(ctx context.Context, question string) (bool, error)
}

// DeployResponse reports the services after a Deploy.
type DeployResponse struct {
	Services []ServiceStatus
	// URLs are the published addresses (process type → URL).
	URLs map[string]string
}

// RolloutError is an update the engine stopped: it rolled the service back
// (State "rolled back") or paused it (State "paused").
type RolloutError struct {
	Service string
	State   string
	Reason  string
}

func (e *RolloutError) Error() string {
	return fmt.Sprintf("service %s: the update was %s by the engine: %s", e.Service, e.State, e.Reason)
}

// InspectRequest asks a Scheduler what runs.
type InspectRequest struct {
	App      *App
	Env      *Environment
	StateDir string
}

// InspectResponse is what runs, and the deploy history (oldest first).
type InspectResponse struct {
	Services []ServiceStatus
	History  []Deployment
}

// ServiceStatus is one service (process type) on the engine.
type ServiceStatus struct {
	Name    string
	Process string
	Release string
	// Replicas is the desired count; Running how many tasks run.
	Replicas int
	Running  int
	// Update is the engine's update state ("completed", "rollback_completed", "paused", "").
	Update string
	URL    string
	Tasks  []TaskStatus
}

// TaskStatus is one task (container) of a service.
type TaskStatus struct {
	ID      string
	Slot    int
	Node    string
	Release string
	State   string // running, starting, failed, shutdown, …
	Desired string
	Error   string
	// URL is the task's own published address, when it has one.
	URL string
}

// Deployment is one entry of the engine's deploy history.
type Deployment struct {
	Event        string    `json:"event"` // deploy, rollback
	Release      string    `json:"release"`
	Previous     string    `json:"previous,omitempty"`
	Time         time.Time `json:"time"`
	Pusher       string    `json:"pusher,omitempty"`
	GitSHA       string    `json:"git_sha,omitempty"`
	ManifestHash string    `json:"manifest_hash,omitempty"`
	Outcome      string    `json:"outcome"` // ok, failed, rolled back
}

// LogsRequest asks a Scheduler for the processes' output.
type LogsRequest struct {
	App      *App
	Env      *Environment
	StateDir string
	// Processes limits the output to these types (nil: all).
	Processes []string
	Lines     int
	Follow    bool
	// Output receives lines prefixed with the task ("[web.1] …").
	Output io.Writer
}

// ScheduledExecRequest runs a command in a running task.
type ScheduledExecRequest struct {
	App      *App
	Env      *Environment
	StateDir string
	// Process is the type whose task runs it ("" : web, else the first).
	Process string
	// Task selects the task ("" : any running task of Process): a task
	// as `plat status` names it (web.2, or the service's name and slot),
	// or a node, for a running task of Process on that node.
	Task    string
	Command *Command
}
