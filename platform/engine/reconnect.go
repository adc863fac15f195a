package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/plat-sh/plat/platform"
)

// reach makes t usable again when cause says its connection was lost:
// it asks the provider for a new connection to the host and puts it under
// t's transport (see redialable), so the switch back, the history record
// and the unlock of a host whose connection dropped, or whose SSH session
// hung while the host still accepts connections, go over the new one. A
// host that cannot be reached again gets an error that says what it may
// run (releases: what its current may point to).
func (p *push) reach(ctx context.Context, t *platform.Target, cause error, releases ...string) error {
	r, ok := t.Transport.(*redialable)
	if !errors.Is(cause, platform.ErrConnectionLost) || p.prov == nil || !ok {
		return nil
	}
	e := p.e
	e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: "the connection was lost; connecting again to switch the host back"})
	resp, err := p.prov.Targets(ctx, &platform.TargetsRequest{App: e.Project.App, Env: p.env, StateDir: e.StateDir, Hosts: []string{t.Name}})
	if err == nil && len(resp.Targets) != 1 {
		for _, x := range resp.Targets {
			_ = x.Transport.Close()
		}
		err = fmt.Errorf("the provider returned %d targets for it", len(resp.Targets))
	}
	if err != nil {
		p.mu.Lock()
		p.stranded[t.Name] = true
		p.mu.Unlock()
		return &strandedError{env: p.env.Name, releases: releases, err: err}
	}
	r.replace(resp.Targets[0].Transport)
	return nil
}

// redialable is a target's transport for the length of a push: reach can
// put a new connection to the same host under it, and everything that
// holds the target (the lock's heartbeat, the history record, the unlock)
// uses the new one from then on. Close closes every connection it had.
type redialable struct {
	mu   sync.Mutex
	cur  platform.Transport
	done []platform.Transport // replaced, closed at Close
}

// redialables wraps the transport of every target (once).
func redialables(ts []*platform.Target) {
	for _, t := range ts {
		if _, ok := t.Transport.(*redialable); !ok {
			t.Transport = &redialable{cur: t.Transport}
		}
	}
}

func (r *redialable) get() platform.Transport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

func (r *redialable) replace(t platform.Transport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, r.cur)
	r.cur = t
}

func (r *redialable) Run(ctx context.Context, cmd *platform.Command) error {
	return r.get().Run(ctx, cmd)
}

// DialContext dials through the current connection when its transport can
// (platform.Dialer), and from here otherwise, as a probe would.
func (r *redialable) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d, ok := r.get().(platform.Dialer); ok {
		return d.DialContext(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (r *redialable) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := []error{r.cur.Close()}
	for _, t := range r.done {
		errs = append(errs, t.Close())
	}
	r.done = nil
	return errors.Join(errs...)
}

// strandedError is a host that failed mid-switch and could not be reached
// again to switch it back.
type strandedError struct {
	env      string
	releases []string // what current may point to
	err      error
}

func (e *strandedError) Error() string {
	s := fmt.Sprintf("it could not be switched back: connect again: %v", e.err)
	if len(e.releases) > 0 {
		s += fmt.Sprintf("\n    its current release is %s, complete either way; `plat status %s --verify` tells which once the host answers, and `plat push %s --resume` finishes it",
			orList(e.releases), e.env, e.env)
	}
	return s
}

func (e *strandedError) Unwrap() error { return e.err }

// orList is "a", "a or b", "a, b or c".
func orList(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	s := xs[0]
	for _, x := range xs[1 : len(xs)-1] {
		s += ", " + x
	}
	return s + " or " + xs[len(xs)-1]
}

var (
	_ platform.Transport = (*redialable)(nil)
	_ platform.Dialer    = (*redialable)(nil)
)
