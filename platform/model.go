package platform

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Project is everything one plat.hcl describes: the app and its environments.
type Project struct {
	// Dir is the directory that holds plat.hcl; relative paths in the file
	// are resolved against it.
	Dir          string
	File         string
	App          *App
	Environments []*Environment
	// Variables are the resolved input variables (name -> value rendered as
	// a Go value: string, bool, float64, []any, map[string]any).
	Variables map[string]any
	// Store is the team's release store (plat.hcl `store`), nil for none.
	Store *StoreConfig
}

// StoreConfig is the team's release store: a directory every pusher
// reaches (a shared mount, or one on the admin node the pushes run on),
// written by every push next to the pusher's own .plat/store and read
// when a rollback or promote needs a release the local store lacks.
type StoreConfig struct {
	// Path is the directory (absolute, or "~/…"; on Host when set).
	Path string
	// Host, when set, is the host that holds Path, reached as the hosts of
	// Environment are (default: the environment the command works on).
	Host        string
	Environment string
}

// Environment returns the named environment, or nil.
func (p *Project) Environment(name string) *Environment {
	for _, e := range p.Environments {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// App is what gets deployed: where the code comes from, how it is built,
// which tasks run, and how plat knows it is healthy.
type App struct {
	Name   string
	Source Source
	// Buildpacks is the explicit chain; empty means detect.
	Buildpacks []string
	// Private is the directory of non-public settings overlaid on the
	// release (already evaluated for the environment being deployed, so it
	// lives on Environment.Private; this is the raw template for display).
	Tasks  []Task
	Health *HealthCheck
	// Restart replaces plat's process management with a command run in the
	// release directory on every host after the switch.
	Restart []string
	// Console is what `plat console` runs in the current release (argv);
	// empty means an interactive shell.
	Console []string
	// LinkedDirs and LinkedFiles live under <deploy_to>/shared and are
	// symlinked into every release (Capistrano's linked_dirs/linked_files).
	LinkedDirs  []string
	LinkedFiles []string
	// Environ is extra environment variables for processes and tasks
	// (plat.hcl: env).
	Environ map[string]string
}

// Task returns the named task, or nil.
func (a *App) Task(name string) *Task {
	for i := range a.Tasks {
		if a.Tasks[i].Name == name {
			return &a.Tasks[i]
		}
	}
	return nil
}

// Source says where the code comes from. The zero value means the git
// repository (or plain directory) that holds plat.hcl.
type Source struct {
	Git        string // clone URL or path; empty: the project directory
	Branch     string
	Ref        string
	Submodules bool
	// Dir is a subdirectory of the checkout that holds the app.
	Dir string
}

// TaskPhase says when a task runs.
type TaskPhase string

const (
	// PhaseBuild tasks run on the build machine before packaging.
	PhaseBuild TaskPhase = "build"
	// PhaseRelease tasks run once per push on one host, after upload and
	// before the first switch.
	PhaseRelease TaskPhase = "release"
	// PhaseManual tasks only run through `plat run`.
	PhaseManual TaskPhase = "manual"
)

// Task is a named command.
type Task struct {
	Name string
	When TaskPhase
	Run  []string
	// Role selects the host a release task runs on (first host with it);
	// empty means the environment's first host.
	Role    string
	Timeout time.Duration
}

// HealthCheck says how to tell that a host serves the new release.
// Exactly one of HTTP, TCP, Command is set.
type HealthCheck struct {
	HTTP     string // path, e.g. /healthz
	TCP      bool
	Command  []string
	Port     int // 0: the host's PORT
	Status   int // expected HTTP status; 0 means any 2xx/3xx
	Timeout  time.Duration
	Interval time.Duration
	Retries  int
}

// Environment is one place the app runs: laptop, dev, stage, prod.
type Environment struct {
	Name     string
	Inherits string
	Provider ProviderConfig
	// DeployTo is the on-host root (may contain ${host.name} style
	// placeholders already resolved per host into Host.DeployTo).
	DeployTo     string
	Clusters     []*Cluster
	Rollout      Rollout
	KeepReleases int
	// Private is the directory of private settings for this environment
	// (evaluated from app.private with env.name in scope), "" for none.
	Private string
	Hooks   []Hook
	// Environ is extra environment variables for processes and tasks on
	// every host (plat.hcl: env).
	Environ map[string]string
	// Processes selects process supervision: "plat" (default) or "systemd".
	Processes string
	// Secrets are the app's and this environment's secret blocks, merged
	// by name (the environment's, then its parents', then the app's).
	Secrets []Secret
	// Via is the admin node commands for this environment run on
	// ([user@]host[:port] or an ssh_config alias), "" to run here.
	Via string
}

// Secret is a value resolved on the pushing machine at push time and
// given to the processes as an environment variable through a 0600 file
// on each host; plat never prints it. Exactly one source is set.
type Secret struct {
	Name string
	// Dotenv is a KEY=value file outside the project (mode 0600); Key is
	// the variable read from it (default Name).
	Dotenv string
	Key    string
	// FromEnv is a variable of plat's own environment.
	FromEnv string
	// Command is run as argv (no shell); its stdout, less one trailing
	// newline, is the value.
	Command []string
	Timeout time.Duration
	// Where is the block's file:line, for errors.
	Where string
}

// Source describes where the value comes from, without the value.
func (s Secret) Source() string {
	switch {
	case s.Dotenv != "":
		k := s.Key
		if k == "" {
			k = s.Name
		}
		return "dotenv " + s.Dotenv + " (" + k + ")"
	case s.FromEnv != "":
		return "env $" + s.FromEnv
	case len(s.Command) > 0:
		return "command " + strings.Join(s.Command, " ")
	}
	return "-"
}

// Hosts returns every host of every cluster, in declaration order.
func (e *Environment) Hosts() []*Host {
	var hs []*Host
	for _, c := range e.Clusters {
		hs = append(hs, c.Hosts...)
	}
	return hs
}

// ProviderConfig is the provider block: its type and its body decoded
// against the provider's Schema into plain Go values.
type ProviderConfig struct {
	Type   string
	Values map[string]any
	// Where maps each attribute set in the block to its file:line:col,
	// for errors, and "" to the block's own (empty across the plugin
	// boundary and in tests).
	Where map[string]string
}

// WholeNumber returns the number attribute name as an int from min to
// max, def when it is not set; a fraction or a value out of range is an
// error located at the attribute (At).
func (c ProviderConfig) WholeNumber(name string, def, min, max int) (int, error) {
	who := "provider " + c.Type
	if c.Type == "" {
		who = "provider"
	}
	v, set := c.Values[name]
	if !set || v == nil {
		return def, nil
	}
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		return 0, errors.New(c.At(name, fmt.Sprintf("%s: %s is a %T, want a number", who, name, v)))
	}
	if f != math.Trunc(f) || f < float64(min) || f > float64(max) {
		return 0, errors.New(c.At(name, fmt.Sprintf("%s: %s = %v: want a whole number from %d to %d", who, name, v, min, max)))
	}
	return int(f), nil
}

// Duration returns the duration attribute name (a string such as "10s";
// the loader checked those it decoded as TypeDuration, this checks the
// rest), 0 when it is not set.
func (c ProviderConfig) Duration(name string) (time.Duration, error) {
	v := c.String(name, "")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New(c.At(name, fmt.Sprintf("provider %s: %s = %q is not a duration (hint: write it like \"10s\" or \"5m\")", c.Type, name, v)))
	}
	return d, nil
}

// At prefixes msg with where the attribute name is set ("plat.hcl:12:5:
// msg"), when that is known.
func (c ProviderConfig) At(name, msg string) string {
	if w := c.Where[name]; w != "" {
		return w + ": " + msg
	}
	return msg
}

// String returns a string value or def.
func (c ProviderConfig) String(name, def string) string {
	if v, ok := c.Values[name].(string); ok && v != "" {
		return v
	}
	return def
}

// Int returns an integer value or def.
func (c ProviderConfig) Int(name string, def int) int {
	switch v := c.Values[name].(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	}
	return def
}

// Bool returns a boolean value or def.
func (c ProviderConfig) Bool(name string, def bool) bool {
	if v, ok := c.Values[name].(bool); ok {
		return v
	}
	return def
}

// Strings returns a list-of-strings value or nil.
func (c ProviderConfig) Strings(name string) []string {
	switch v := c.Values[name].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Cluster is a named group of hosts sharing roles.
type Cluster struct {
	Name  string
	Roles []string
	Hosts []*Host
}

// Host is one machine as declared and resolved (ResolveHosts); NewTarget
// turns it into the Target every provider starts from.
type Host struct {
	Name    string
	Cluster string
	// Roles are the declared roles (AllRoles adds the cluster's name).
	Roles []string
	// Address is how to reach it; defaults to Name.
	Address string
	// DeployTo is the absolute on-host root; "" when the provider chooses
	// it (HostDefaults.OwnDeployTo).
	DeployTo string
	// Port is the PORT the web process listens on: declared, else the
	// provider's HostDefaults (the app's health port or DefaultWebPort;
	// the local provider counts up from base_port). 0 only for a plugin
	// provider, which chooses.
	Port int
	// Vars are free-form per-host settings from a host block.
	Vars map[string]string
}

// HasRole reports whether the host has role r (a cluster name counts as a role).
func (h *Host) HasRole(r string) bool {
	return slices.Contains(h.AllRoles(), r)
}

// AllRoles is the host's cluster name, then its declared roles, each once:
// the roles its Target has.
func (h *Host) AllRoles() []string {
	var out []string
	if h.Cluster != "" {
		out = append(out, h.Cluster)
	}
	for _, r := range h.Roles {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// Rollout is the switch policy.
type Rollout struct {
	// Stages are cumulative host counts ("1") or percentages ("25%"); the
	// last stage is always all hosts. Empty means one stage of all hosts.
	Stages       []string
	Pause        time.Duration
	Confirm      bool // pause = "confirm"
	MaxParallel  int  // 0: unlimited within a stage
	OnFailure    string
	MaxFailures  string // count or percentage; "" is 0
	Health       *HealthCheck
	DrainTimeout time.Duration
	// Restart is how plat restarts the web process on a switch:
	// RestartStopStart (the default: stop the old, start the new) or
	// RestartOverlap (start the new next to the old on the same port, stop
	// the old once the new listens: the app must allow SO_REUSEPORT).
	Restart string
}

// Failure policies.
const (
	OnFailureRollback = "rollback"
	OnFailureHalt     = "halt"
)

// Restart policies of the web process.
const (
	RestartStopStart = "stop-start"
	RestartOverlap   = "overlap"
)

// HookEvent is a point in a push where hooks run.
type HookEvent string

// Hook events, in push order.
const (
	HookStarting   HookEvent = "starting"
	HookUploaded   HookEvent = "uploaded"
	HookSwitched   HookEvent = "switched"
	HookFinished   HookEvent = "finished"
	HookFailed     HookEvent = "failed"
	HookRolledBack HookEvent = "rolled_back"
)

// Hook is a command run at an event, locally or on every host.
type Hook struct {
	Event  HookEvent
	Run    []string
	OnHost bool
}
