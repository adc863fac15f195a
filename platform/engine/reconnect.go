package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/plat-sh/plat/platform"
)

// reach returns t when its connection is alive. When cause says the
// connection was lost, it asks the provider for a new connection to the
// host and returns a copy of t that uses it (done closes it): a host whose
// connection dropped, or whose SSH session hung while the host still
// accepts connections, can then still be switched back. A host that
// cannot be reached again gets an error that says what it may run.
func (p *push) reach(ctx context.Context, t *platform.Target, cause error, releases ...string) (*platform.Target, func(), error) {
	if !errors.Is(cause, platform.ErrConnectionLost) || p.prov == nil {
		return t, func() {}, nil
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
		return nil, nil, &strandedError{host: t.Name, env: p.env.Name, releases: releases, err: err}
	}
	nt := *t
	nt.Transport = resp.Targets[0].Transport
	return &nt, func() { _ = nt.Transport.Close() }, nil
}

// strandedError is a host that failed mid-switch and could not be reached
// again to switch it back.
type strandedError struct {
	host, env string
	releases  []string // what current may point to
	err       error
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
