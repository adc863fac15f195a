package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
)

// LockLease is how long a lock outlives its holder's last heartbeat.
const LockLease = 30 * time.Second

// LockInfo describes a deploy lock.
type LockInfo struct {
	Owner   string    `json:"owner"`
	Since   time.Time `json:"since"`
	Release string    `json:"release,omitempty"`
	Message string    `json:"message,omitempty"`
	Expires time.Time `json:"expires"`
	Command string    `json:"command,omitempty"`
	// PID is the holding plat process on the owner's machine.
	PID int `json:"pid,omitempty"`
}

func (l LockInfo) messageSuffix() string {
	var parts []string
	if l.Command != "" {
		parts = append(parts, l.Command)
	}
	if l.Message != "" {
		parts = append(parts, fmt.Sprintf("%q", l.Message))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, " ")
}

func (l LockInfo) encode() string {
	return fmt.Sprintf("owner=%s\nsince=%d\ncommand=%s\nmessage=%s\npid=%d", oneLine(l.Owner), l.Since.Unix(), oneLine(l.Command), oneLine(l.Message), l.PID)
}

func decodeLock(kv map[string]string) LockInfo {
	sec := func(k string) time.Time {
		n, _ := strconv.ParseInt(kv[k], 10, 64)
		if n == 0 {
			return time.Time{}
		}
		return time.Unix(n, 0)
	}
	pid, _ := strconv.Atoi(kv["pid"])
	return LockInfo{Owner: kv["owner"], Since: sec("since"), Command: kv["command"], Message: kv["message"], Expires: sec("expires"), PID: pid}
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

// deployLock is a held lock on every target of an environment.
type deployLock struct {
	token   string
	targets []*platform.Target
	stop    chan struct{}
	done    sync.WaitGroup
	// reconnect gives fresh targets for hosts whose transport broke (a
	// crashed plugin, a dropped connection), so the lock is still
	// released rather than left to expire.
	reconnect func(ctx context.Context, hosts []string) ([]*platform.Target, error)
}

// acquire takes the lock on all targets: the first target first (it
// serialises competing pushers, so exactly one wins), then the others in
// parallel. On conflict it releases what it took and returns a
// *LockHeldError; with wait > 0 it retries until wait has passed.
func (e *Engine) acquire(ctx context.Context, env *platform.Environment, ts []*platform.Target, command, message string, wait time.Duration) (*deployLock, error) {
	deadline := e.now().Add(wait)
	for {
		l, err := e.tryAcquire(ctx, env, ts, command, message)
		var held *LockHeldError
		if err == nil || !errors.As(err, &held) || wait <= 0 || e.now().After(deadline) {
			return l, err
		}
		e.emit(platform.Event{Type: platform.EventLog, Host: held.Host, Message: "waiting for the lock held by " + held.Info.Owner})
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (e *Engine) tryAcquire(ctx context.Context, env *platform.Environment, ts []*platform.Target, command, message string) (*deployLock, error) {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	l := &deployLock{token: hex.EncodeToString(b), stop: make(chan struct{})}
	l.reconnect = func(ctx context.Context, hosts []string) ([]*platform.Target, error) {
		_, p, err := e.environment(env.Name)
		if err != nil {
			return nil, err
		}
		resp, err := p.Targets(ctx, &platform.TargetsRequest{App: e.Project.App, Env: env, StateDir: e.StateDir, Hosts: hosts})
		if err != nil {
			return nil, err
		}
		return resp.Targets, nil
	}
	info := LockInfo{Owner: e.user(), Since: e.now(), Command: command, Message: message, PID: os.Getpid()}.encode()
	take := func(ctx context.Context, t *platform.Target) error {
		// Not cut short by an interrupt: a lock script killed between its
		// mkdir and writing the owner leaves a lock with no owner, lease
		// or pid, which nothing takes over (found by the kill trials). It
		// is quick; the timeout bounds a host that hangs.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		out, err := run(lctx, t, hostcmd.Lock(t.DeployTo, e.Project.App.Name, l.token, LockLease, info))
		if platform.ExitCode(err) == 4 {
			return &OwnerError{Host: t.Name, DeployTo: t.DeployTo, Owner: hostcmd.ParseOwner(out), App: e.Project.App.Name}
		}
		if platform.ExitCode(err) == 3 {
			lines := strings.SplitN(out, "\n", 2)
			rest := ""
			if len(lines) == 2 {
				rest = lines[1]
			}
			info := decodeLock(hostcmd.ParseKV(rest))
			return &LockHeldError{EnvName: env.Name, Host: t.Name, DeployTo: t.DeployTo, Info: info, Unreadable: info.Expires.IsZero()}
		}
		if err != nil {
			return &HostError{Host: t.Name, Step: "lock", Err: err}
		}
		if strings.HasPrefix(out, "acquired unreadable") {
			e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: fmt.Sprintf("took over a lock whose %s/.plat/lock/info was unreadable (not written by plat, or cut short) and unchanged for longer than the lease (%s)", t.DeployTo, LockLease)})
		}
		if strings.HasPrefix(out, "acquired stale") {
			e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: "took over an expired lock: " + strings.ReplaceAll(strings.TrimSpace(strings.TrimPrefix(out, "acquired stale")), "\n", " ")})
		}
		return nil
	}
	takeOrReclaim := func(ctx context.Context, t *platform.Target) error {
		err := take(ctx, t)
		var held *LockHeldError
		if errors.As(err, &held) && e.deadHolder(held.Info) {
			// A push from this machine died holding the lock (its host was
			// unreachable when it tried to unlock): no need to wait out
			// the lease.
			e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: fmt.Sprintf("taking over the lock left by a push that died (pid %d)", held.Info.PID)})
			if _, uerr := run(ctx, t, hostcmd.Unlock(t.DeployTo, "")); uerr == nil {
				err = take(ctx, t)
			}
		}
		return err
	}
	if err := takeOrReclaim(ctx, ts[0]); err != nil {
		return nil, err
	}
	l.targets = append(l.targets, ts[0])
	errs := e.forEach(ctx, ts[1:], 0, takeOrReclaim)
	for _, t := range ts[1:] {
		if errs[t.Name] == nil {
			l.targets = append(l.targets, t)
		}
	}
	if len(errs) > 0 {
		l.release(ctx)
		for _, h := range sortedHosts(errs) {
			return nil, errs[h]
		}
	}
	l.done.Add(1)
	go e.heartbeat(ctx, l, info)
	return l, nil
}

// deadHolder reports whether a lock was taken by a plat process of this
// user on this machine that no longer runs.
func (e *Engine) deadHolder(l LockInfo) bool {
	if l.PID <= 0 || l.Owner != e.user() || l.PID == os.Getpid() {
		return false
	}
	err := syscall.Kill(l.PID, 0)
	return errors.Is(err, syscall.ESRCH)
}

// heartbeat renews the lease while the push runs.
func (e *Engine) heartbeat(ctx context.Context, l *deployLock, info string) {
	defer l.done.Done()
	tick := time.NewTicker(LockLease / 3)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			errs := e.forEach(ctx, l.targets, 0, func(ctx context.Context, t *platform.Target) error {
				_, err := run(ctx, t, hostcmd.Lock(t.DeployTo, e.Project.App.Name, l.token, LockLease, info))
				return err
			})
			for h, err := range errs {
				e.log().Warn("renew lock", "host", h, "err", err)
			}
		}
	}
}

// release removes the lock from every target, even when ctx is cancelled
// (an interrupted push must not leave the environment locked).
func (l *deployLock) release(ctx context.Context) {
	if l == nil {
		return
	}
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.done.Wait()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	broken := l.unlock(rctx, l.targets)
	if len(broken) == 0 || l.reconnect == nil {
		return
	}
	ts, err := l.reconnect(rctx, broken)
	if err != nil {
		return
	}
	l.unlock(rctx, ts)
	for _, t := range ts {
		_ = t.Transport.Close()
	}
}

// unlock removes the lock from ts and returns the hosts whose transport
// failed (as opposed to the command).
func (l *deployLock) unlock(ctx context.Context, ts []*platform.Target) []string {
	var mu sync.Mutex
	var broken []string
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Add(1)
		go func(t *platform.Target) {
			defer wg.Done()
			if _, err := run(ctx, t, hostcmd.Unlock(t.DeployTo, l.token)); err != nil && platform.ExitCode(err) < 0 {
				mu.Lock()
				broken = append(broken, t.Name)
				mu.Unlock()
			}
		}(t)
	}
	wg.Wait()
	return broken
}

// LockState is one host's view of the lock.
type LockState struct {
	Host   string
	Locked bool
	Info   LockInfo
	// Stale is true when the lease has expired (the holder died).
	Stale bool
	Err   error
}

// Lock reports the environment's lock on every host.
func (e *Engine) Lock(ctx context.Context, envName string) ([]LockState, error) {
	env, p, err := e.environment(envName)
	if err != nil {
		return nil, err
	}
	ts, closeAll, err := e.targets(ctx, env, p, nil)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	return each(ts, func(t *platform.Target) LockState {
		s, err := run(ctx, t, hostcmd.LockInfo(t.DeployTo))
		st := LockState{Host: t.Name, Err: err}
		kv := hostcmd.ParseKV(s)
		if kv["owner"] != "" {
			st.Locked = true
			st.Info = decodeLock(kv)
			now, _ := strconv.ParseInt(kv["now"], 10, 64)
			st.Stale = !st.Info.Expires.IsZero() && st.Info.Expires.Unix() < now
		} else if _, rest, _ := strings.Cut(s, "\n"); strings.TrimSpace(rest) != "" {
			// A lock file plat did not write: held by nobody it can name.
			st.Locked = true
			st.Info.Owner = "nobody known (" + t.DeployTo + "/.plat/lock/info is unreadable)"
		}
		return st
	}), nil
}

// BreakLock removes the lock on every host, whoever holds it, and records
// that in revisions.log.
func (e *Engine) BreakLock(ctx context.Context, envName string) ([]LockState, error) {
	env, p, err := e.environment(envName)
	if err != nil {
		return nil, err
	}
	ts, closeAll, err := e.targets(ctx, env, p, nil)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	var mu sync.Mutex
	var broken []LockState
	errs := e.forEach(ctx, ts, 0, func(ctx context.Context, t *platform.Target) error {
		out, err := run(ctx, t, hostcmd.Unlock(t.DeployTo, ""))
		if err != nil {
			return err
		}
		kv := hostcmd.ParseKV(out)
		if kv["owner"] == "" {
			return nil
		}
		info := decodeLock(kv)
		mu.Lock()
		broken = append(broken, LockState{Host: t.Name, Locked: true, Info: info})
		mu.Unlock()
		line := fmt.Sprintf("%s broke the deploy lock held by %s since %s", e.user(), info.Owner, info.Since.UTC().Format(time.RFC3339))
		hist := historyLine(HistoryEntry{Event: historyLockBreak, Time: e.now(), Pusher: e.user(), Note: "held by " + info.Owner})
		_, err = run(ctx, t, hostcmd.Record(t.DeployTo, line, hist))
		return err
	})
	if len(errs) > 0 {
		return broken, &DeployError{Op: "break lock", Hosts: errs}
	}
	return broken, nil
}

// checkOwner refuses to change hosts whose deploy_to belongs to another
// app (for commands that do not take the deploy lock, which checks it too).
func (e *Engine) checkOwner(ctx context.Context, ts []*platform.Target) error {
	errs := e.forEach(ctx, ts, 0, func(ctx context.Context, t *platform.Target) error {
		out, err := run(ctx, t, hostcmd.CheckOwner(t.DeployTo, e.Project.App.Name))
		if platform.ExitCode(err) == 4 {
			return &OwnerError{Host: t.Name, DeployTo: t.DeployTo, Owner: hostcmd.ParseOwner(out), App: e.Project.App.Name}
		}
		if err != nil {
			return &HostError{Host: t.Name, Step: "check owner", Err: err}
		}
		return nil
	})
	for _, h := range sortedHosts(errs) {
		return errs[h]
	}
	return nil
}
