// Package engine runs plat's recipe: build once on this machine, record an
// immutable release, then per target upload, release tasks, switch in
// rollout stages with health gates, and finish. It only talks to targets
// through platform.Transport with commands from hostcmd, so every provider
// gets the same recipe.
package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/release"
	"github.com/plat-sh/plat/platform/suggest"
)

// Engine deploys one project.
type Engine struct {
	Project   *platform.Project
	Providers map[string]platform.ProviderFactory
	Builder   platform.Builder
	// StateDir is the project's .plat directory (absolute).
	StateDir string
	UI       platform.UI
	// OutputEvents sends what exec, run and logs print on hosts to UI as
	// output events (--json) instead of to their writers.
	OutputEvents bool
	Log          *slog.Logger
	// User is who pushes (user@machine); empty means detect.
	User string
	// Confirm asks a yes/no question on a terminal; nil means the run is
	// not interactive (a rollout pause of "confirm" then fails).
	Confirm func(ctx context.Context, question string) (bool, error)
	// Concurrency limits hosts worked on at once (default 32).
	Concurrency int
	// Now is the clock (tests may fix it).
	Now func() time.Time
	// AgeIdentity is the age identity file that encrypts private content
	// and secrets in the local store; "" means release.DefaultIdentityPath.
	AgeIdentity string

	keysOnce    sync.Once
	keys        *release.Keyring
	resolveOnce sync.Once
	maskMu      sync.Mutex
	masks       []string // secret values emit hides
}

func (e *Engine) store() *release.Store {
	e.keysOnce.Do(func() { e.keys = release.NewKeyring(e.AgeIdentity) })
	return &release.Store{Root: filepath.Join(e.StateDir, "store"), Keys: e.keys}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (e *Engine) user() string {
	if e.User != "" {
		return e.User
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

func (e *Engine) concurrency() int {
	if e.Concurrency > 0 {
		return e.Concurrency
	}
	return 32
}

// Error kinds the CLI maps to exit codes.
var (
	// ErrConfig is a usage or configuration mistake (exit 2).
	ErrConfig = errors.New("configuration error")
)

// LockHeldError says someone else holds the environment's lock (exit 3).
type LockHeldError struct {
	EnvName  string
	Host     string
	DeployTo string
	Info     LockInfo
	// Unreadable is a lock whose info plat cannot read (no expiry): it
	// expires a lease after it last changed.
	Unreadable bool
}

func (e *LockHeldError) Error() string {
	if e.Unreadable {
		return fmt.Sprintf("environment %s is locked on %s, but %s/.plat/lock/info is unreadable (not written by plat, or cut short): plat takes the lock over once the file is unchanged for %s; `plat lock %s break` removes it now",
			e.EnvName, e.Host, e.DeployTo, LockLease, e.EnvName)
	}
	return fmt.Sprintf("environment %s is locked by %s since %s (on %s)%s", e.EnvName, e.Info.Owner,
		e.Info.Since.Format(time.RFC3339), e.Host, e.Info.messageSuffix())
}

// OwnerError is a deploy_to that another app deployed to first: a
// deploy_to belongs to one app, so nothing is changed there.
type OwnerError struct {
	Host, DeployTo string
	Owner, App     string
}

func (e *OwnerError) Error() string {
	owner := e.Owner
	if owner == "" {
		owner = "another app (being claimed right now)"
	} else {
		owner = fmt.Sprintf("app %q", owner)
	}
	return fmt.Sprintf("host %s: %s belongs to %s, not %q: refusing to change it (give each app its own deploy_to)", e.Host, e.DeployTo, owner, e.App)
}

// DeployError is a push or rollback that failed on hosts (exit 1).
type DeployError struct {
	Op    string
	Hosts map[string]error
	Err   error
}

func (e *DeployError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	for _, h := range sortedHosts(e.Hosts) {
		// The line names the host already: not again ("web1: host web1: …").
		fmt.Fprintf(&b, "\n  %s: %s", h, strings.TrimPrefix(e.Hosts[h].Error(), "host "+h+": "))
	}
	return b.String()
}

func (e *DeployError) Unwrap() error { return e.Err }

// HostError is a failure of one step on one host.
type HostError struct {
	Host string
	Step string
	Err  error
}

// Error names the host and the step, once: an error that already starts
// with the step's name ("build: …" from the builder) does not get it twice.
func (e *HostError) Error() string {
	msg := e.Err.Error()
	if !strings.HasPrefix(msg, e.Step+": ") {
		msg = e.Step + ": " + msg
	}
	return fmt.Sprintf("host %s: %s", e.Host, msg)
}
func (e *HostError) Unwrap() error { return e.Err }

// resolve fills the project's policy defaults and resolves its hosts
// (port, deploy_to) with each provider's HostDefaults, once: a no-op for
// a project environments.Load made (it did both), the same values for
// one built by hand (tests).
func (e *Engine) resolve() {
	e.resolveOnce.Do(func() {
		platform.FillDefaults(e.Project)
		for _, env := range e.Project.Environments {
			if f, ok := e.Providers[env.Provider.Type]; ok {
				platform.ResolveHosts(e.Project.App, env, f.Schema().Hosts)
			}
		}
	})
}

// environment resolves an environment and its provider.
func (e *Engine) environment(name string) (*platform.Environment, platform.Provider, error) {
	e.resolve()
	env := e.Project.Environment(name)
	if env == nil {
		var names []string
		for _, x := range e.Project.Environments {
			names = append(names, x.Name)
		}
		return nil, nil, fmt.Errorf("%w: unknown environment %q%s (defined: %s)", ErrConfig, name, suggest.Hint(name, names), strings.Join(names, ", "))
	}
	f, ok := e.Providers[env.Provider.Type]
	if !ok {
		return nil, nil, fmt.Errorf("%w: environment %s: unknown provider %q", ErrConfig, name, env.Provider.Type)
	}
	p, err := f.New(env.Provider)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: environment %s: %v", ErrConfig, name, err)
	}
	return env, p, nil
}

// selectTargets connects to the hosts sel picks: platform.SelectHosts by
// name and role, in the environment's order (an unknown name or role is
// a configuration error with a "did you mean"), so only those hosts are
// connected to.
func (e *Engine) selectTargets(ctx context.Context, env *platform.Environment, p platform.Provider, sel Selector) ([]*platform.Target, func(), error) {
	hosts, err := platform.SelectHosts(env, sel.Hosts, sel.Role)
	if err != nil {
		return nil, func() {}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	var names []string
	if len(sel.Hosts) > 0 || sel.Role != "" {
		for _, h := range hosts {
			names = append(names, h.Name)
		}
	}
	return e.targets(ctx, env, p, names)
}

// targets connects to the environment's hosts (those named in hosts, when
// it is not nil).
func (e *Engine) targets(ctx context.Context, env *platform.Environment, p platform.Provider, hosts []string) ([]*platform.Target, func(), error) {
	start := e.now()
	n := len(env.Hosts())
	if hosts != nil {
		n = len(hosts)
	}
	e.emit(platform.Event{Type: platform.EventStepStart, Host: "localhost", Step: "connect", Message: fmt.Sprintf("%d hosts (%s)", n, env.Provider.Type)})
	resp, err := p.Targets(ctx, &platform.TargetsRequest{App: e.Project.App, Env: env, StateDir: e.StateDir, Hosts: hosts})
	if err != nil {
		e.endStep("localhost", "connect", start, err)
		return nil, func() {}, fmt.Errorf("connect to %s: %w", env.Name, err)
	}
	e.endStep("localhost", "connect", start, nil)
	closeAll := func() {
		for _, t := range resp.Targets {
			_ = t.Transport.Close()
		}
	}
	if len(resp.Targets) == 0 {
		closeAll()
		return nil, func() {}, fmt.Errorf("%w: environment %s has no hosts", ErrConfig, env.Name)
	}
	if err := e.lookupPorts(ctx, resp.Targets); err != nil {
		closeAll()
		return nil, func() {}, err
	}
	return resp.Targets, closeAll, nil
}

// run runs a host command and returns its stdout; stderr's tail is kept in
// the error.
func run(ctx context.Context, t *platform.Target, cmd *platform.Command) (string, error) {
	var out bytes.Buffer
	var errb tailBuffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &errb
	}
	err := t.Transport.Run(ctx, cmd)
	var ee *platform.ExitError
	if errors.As(err, &ee) && ee.Stderr == "" {
		// The transport's error message is already formatted; carry what
		// the command said on stderr after it.
		if tail := strings.TrimSpace(errb.String()); tail != "" && !strings.Contains(err.Error(), tail) {
			ee.Stderr = tail
			err = fmt.Errorf("%w: %s", err, tail)
		}
	}
	return out.String(), err
}

// forEach runs fn for every target in parallel (bounded) and collects the
// errors per host.
func (e *Engine) forEach(ctx context.Context, ts []*platform.Target, limit int, fn func(ctx context.Context, t *platform.Target) error) map[string]error {
	if limit <= 0 || limit > e.concurrency() {
		limit = e.concurrency()
	}
	sem := make(chan struct{}, limit)
	var mu sync.Mutex
	errs := map[string]error{}
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Add(1)
		go func(t *platform.Target) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				errs[t.Name] = ctx.Err()
				mu.Unlock()
				return
			}
			defer func() { <-sem }()
			if err := fn(ctx, t); err != nil {
				mu.Lock()
				errs[t.Name] = err
				mu.Unlock()
			}
		}(t)
	}
	wg.Wait()
	return errs
}

// each calls fn for every target at once and returns the results in
// target order (for reads that report per host rather than fail).
func each[T any](ts []*platform.Target, fn func(t *platform.Target) T) []T {
	out := make([]T, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = fn(t)
		}()
	}
	wg.Wait()
	return out
}

// emit sends an event to the UI.
func (e *Engine) emit(ev platform.Event) {
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	ev.Message, ev.Error = e.mask(ev.Message), e.mask(ev.Error)
	for i := range ev.Rows {
		ev.Rows[i].Note = e.mask(ev.Rows[i].Note)
	}
	if e.UI != nil {
		e.UI.Event(ev)
	}
}

func (e *Engine) startStep(host, step, msg string) time.Time {
	e.emit(platform.Event{Type: platform.EventStepStart, Host: host, Step: step, Message: msg})
	return e.now()
}

func (e *Engine) endStep(host, step string, start time.Time, err error) {
	ev := platform.Event{Type: platform.EventStepEnd, Host: host, Step: step, Duration: e.now().Sub(start), Status: platform.StepOK}
	if err != nil {
		ev.Status = platform.StepFailed
		ev.Error = err.Error()
		ev.ExitCode = max(platform.ExitCode(err), 0)
	}
	e.emit(ev)
}

// step runs fn as a named step on host, reporting start and end.
func (e *Engine) step(host, name, msg string, fn func() error) error {
	start := e.startStep(host, name, msg)
	err := fn()
	e.endStep(host, name, start, err)
	if err != nil {
		return &HostError{Host: host, Step: name, Err: err}
	}
	return nil
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 4096 {
		b.buf = b.buf[len(b.buf)-4096:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func sortedHosts[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return ks
}
