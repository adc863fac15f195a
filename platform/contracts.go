package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

// Command is one program to run on a target, as argv. Transports quote it
// themselves (never through a user-built shell string).
type Command struct {
	Args []string
	// Dir is the working directory on the target; "" means the transport's
	// default (the login directory, or the local provider's host root).
	Dir string
	// Env is added to the target's environment.
	Env    map[string]string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// TTY, when set, runs the command on a pseudo-terminal of that size:
	// Stdin is its input, Stdout gets everything the program writes (a
	// terminal has one output stream; Stderr is unused). Transports that
	// cannot give one fail with an error wrapping ErrNoTTY.
	TTY *TTY
}

// TTY asks a transport for a pseudo-terminal.
type TTY struct {
	Rows, Cols uint16
	// Term is the TERM the program sees ("" means xterm-256color).
	Term string
	// Resize delivers new window sizes while the command runs (may be nil).
	Resize <-chan WindowSize
}

// WindowSize is a terminal's size in characters.
type WindowSize struct {
	Rows, Cols uint16
}

// TermName is t.Term, or the default.
func (t *TTY) TermName() string {
	if t.Term == "" {
		return "xterm-256color"
	}
	return t.Term
}

// FollowResize calls apply with every new window size from t.Resize
// until the returned stop is called (a no-op when t or Resize is nil).
// Transports use it to forward resizes to the remote terminal.
func (t *TTY) FollowResize(apply func(WindowSize)) (stop func()) {
	if t == nil || t.Resize == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case ws := <-t.Resize:
				apply(ws)
			}
		}
	}()
	return func() { close(done) }
}

// ErrNoTTY is wrapped by the error of a transport that cannot run a
// command on a pseudo-terminal.
var ErrNoTTY = errors.New("this transport cannot allocate a terminal")

// ErrConnectionLost is wrapped by the error of a transport whose
// connection to the host died under a command (the host dropped it, or
// stopped answering for longer than the transport's bound). The command's
// fate on the host is unknown: it may have finished, or not. The target's
// transport is unusable afterwards; the provider may still reach the host
// with a new one.
var ErrConnectionLost = errors.New("connection lost")

// Transport runs commands on one target.
//
// Run starts Args, streams Stdin/Stdout/Stderr and waits. A command that
// ran and exited non-zero returns an *ExitError; any other error means the
// transport failed (connection lost, container gone) and the command may or
// may not have run. Cancelling ctx stops the command and returns ctx.Err()
// (wrapped). Run is safe for concurrent use: several commands may run on
// one target at once.
//
// Close releases the connection; it is idempotent.
type Transport interface {
	Run(ctx context.Context, cmd *Command) error
	Close() error
}

// Dialer is an optional Transport ability: open a TCP connection as seen
// from the target (health checks use it, so a web process listening on the
// target's loopback is reachable from plat).
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Code   int
	Stderr string // tail of stderr, if the caller did not capture it
}

func (e *ExitError) Error() string {
	if e.Stderr != "" {
		return fmt.Sprintf("exit status %d: %s", e.Code, e.Stderr)
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// ExitCode returns the exit code of err if it is (or wraps) an *ExitError,
// or -1.
func ExitCode(err error) int {
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code
	}
	return -1
}

// Target is one machine a release goes to.
type Target struct {
	Name    string
	Address string
	Roles   []string
	// DeployTo is the absolute on-target root of the Capistrano layout.
	DeployTo string
	// Port is the PORT the web process gets on this target.
	Port int
	// HealthAddr is host:port as seen through the Transport's Dialer (or
	// directly, when the Transport has none) for the web process; "" means
	// 127.0.0.1:<Port>.
	HealthAddr string
	// PublicURL is printed after a push (e.g. a published docker port).
	PublicURL string
	// Ports, when set, is the host's port registry, shared by every app
	// deployed there: the engine records Port in it (a port another app
	// holds is refused) or, when the configuration names none, assigns
	// one (engine/ports.go).
	Ports     *PortRegistry
	Transport Transport
}

// PortRegistry is where a host records each app's web port.
type PortRegistry struct {
	// Dir is the host-level plat directory ("~/" is the login's home).
	Dir string
	// Base is the first port the registry gives an app that names none.
	Base int
	// Named says Port comes from the configuration (host or health port).
	Named bool
}

// HasRole reports whether the target has role r.
func (t *Target) HasRole(r string) bool {
	for _, x := range t.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// AttrType is the type of a provider configuration attribute.
type AttrType string

// Attribute types a provider schema may use.
const (
	TypeString     AttrType = "string"
	TypeNumber     AttrType = "number"
	TypeBool       AttrType = "bool"
	TypeStringList AttrType = "list(string)"
	TypeStringMap  AttrType = "map(string)"
	// TypeDuration is a string holding a duration ("500ms", "10s",
	// "5m"; not negative): the loader refuses anything else with its
	// file:line, and the value arrives as the string written.
	TypeDuration AttrType = "duration"
)

// Attribute is one attribute of a provider block.
type Attribute struct {
	Name        string
	Type        AttrType
	Required    bool
	Description string
}

// Schema describes the body of a provider block. Unknown attributes are
// errors; values arrive in ProviderConfig.Values as string (durations
// too), float64, bool, []string or map[string]string.
type Schema struct {
	Attributes []Attribute
	// Scheduled says the provider is a Scheduler: its environments have
	// no hosts (no cluster block), the engine places the processes.
	Scheduled bool
	// Hosts says how hosts that declare no port or deploy_to get one
	// (ResolveHosts); nil leaves the port to the provider (plugins:
	// protocol v1 does not carry it).
	Hosts *HostDefaults
}

// Provider turns an environment into targets.
type Provider interface {
	// Targets returns one target per host of the environment, each with a
	// connected Transport. It does not create machines (see Provisioner):
	// a host that does not exist is an error naming it. The caller closes
	// the transports.
	Targets(ctx context.Context, req *TargetsRequest) (*TargetsResponse, error)
}

// TargetsRequest asks a provider for an environment's targets.
type TargetsRequest struct {
	App *App
	Env *Environment
	// StateDir is the project's .plat directory (absolute).
	StateDir string
	// Hosts limits the answer to these host names (nil: all); the
	// targets still come in the environment's order, and a name the
	// environment lacks is an error (SelectHosts).
	Hosts []string
}

// TargetsResponse holds the targets, in the environment's host order.
type TargetsResponse struct {
	Targets []*Target
}

// Provisioner is an optional Provider ability: create and remove machines.
type Provisioner interface {
	// Up creates and starts every machine of the environment. It is
	// idempotent: machines that run are left alone, missing ones are
	// (re)created.
	Up(ctx context.Context, req *UpRequest) (*UpResponse, error)
	// Down stops the machines; with Destroy it removes them and whatever
	// the provider created for them (networks, Vagrantfiles).
	Down(ctx context.Context, req *DownRequest) (*DownResponse, error)
}

// UpRequest asks a Provisioner to bring an environment's machines up.
type UpRequest struct {
	App      *App
	Env      *Environment
	StateDir string
	// Progress receives one line per machine event (may be nil).
	Progress func(host, line string)
}

// UpResponse reports the machines.
type UpResponse struct {
	Machines []MachineStatus
}

// DownRequest asks a Provisioner to stop (or destroy) an environment's machines.
type DownRequest struct {
	App      *App
	Env      *Environment
	StateDir string
	Destroy  bool
	Progress func(host, line string)
}

// DownResponse reports the machines after Down.
type DownResponse struct {
	Machines []MachineStatus
}

// MachineStatus is the provider's view of one machine.
type MachineStatus struct {
	Host  string
	State string // "running", "stopped", "missing", ...
	// Detail is provider-specific (container id, vagrant state).
	Detail string
}

// MachineStatuser is an optional Provider ability: report machines
// without connecting to them (a removed container shows as "missing").
type MachineStatuser interface {
	Machines(ctx context.Context, req *TargetsRequest) ([]MachineStatus, error)
}

// ProviderFactory builds a provider for one environment's configuration.
// Registries map a provider type to a factory; cmd/plat wires them.
type ProviderFactory interface {
	// Schema is the provider block's schema (known before any value).
	Schema() Schema
	// New configures a provider from decoded values.
	New(cfg ProviderConfig) (Provider, error)
}
