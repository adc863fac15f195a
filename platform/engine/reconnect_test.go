package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
)

// These fakes stand in for a provider and its connections: the real ones
// (an sshd fleet whose sessions are stopped or dropped) are in
// cmd/plat/faults_hosts_e2e_test.go.

type fakeTransport struct {
	name   string
	ran    []string
	closed int
}

func (f *fakeTransport) Run(_ context.Context, cmd *platform.Command) error {
	f.ran = append(f.ran, strings.Join(cmd.Args, " "))
	return nil
}

func (f *fakeTransport) Close() error { f.closed++; return nil }

type fakeProvider struct {
	targets func(req *platform.TargetsRequest) (*platform.TargetsResponse, error)
	asked   [][]string
}

func (f *fakeProvider) Targets(_ context.Context, req *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	f.asked = append(f.asked, req.Hosts)
	return f.targets(req)
}

func reachFixture(prov platform.Provider) (*push, *platform.Target, *fakeTransport) {
	old := &fakeTransport{name: "old"}
	t := &platform.Target{Name: "web2", Transport: old}
	redialables([]*platform.Target{t})
	p := &push{e: &Engine{Project: &platform.Project{App: &platform.App{Name: "notes"}}}, env: &platform.Environment{Name: "prod"},
		prov: prov, stranded: map[string]bool{}}
	return p, t, old
}

var errLost = fmt.Errorf("run sh: connection to web2 was lost: no answer: %w", platform.ErrConnectionLost)

func TestReachReconnectsALostHost(t *testing.T) {
	fresh := &fakeTransport{name: "fresh"}
	prov := &fakeProvider{targets: func(req *platform.TargetsRequest) (*platform.TargetsResponse, error) {
		return &platform.TargetsResponse{Targets: []*platform.Target{{Name: req.Hosts[0], Transport: fresh}}}, nil
	}}
	p, target, old := reachFixture(prov)

	// A failed command is no reason to reconnect.
	if err := p.reach(t.Context(), target, &platform.ExitError{Code: 1}); err != nil || len(prov.asked) != 0 {
		t.Fatalf("reach after an exit status: %v, asked %v", err, prov.asked)
	}
	if err := p.reach(t.Context(), target, errLost, "r1", "r2"); err != nil {
		t.Fatal(err)
	}
	if len(prov.asked) != 1 || !slices.Equal(prov.asked[0], []string{"web2"}) {
		t.Fatalf("provider asked for %v, want [web2]", prov.asked)
	}
	if err := target.Transport.Run(t.Context(), &platform.Command{Args: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	if len(fresh.ran) != 1 || len(old.ran) != 0 {
		t.Errorf("after reach, commands went to old %v, fresh %v", old.ran, fresh.ran)
	}
	if old.closed != 0 {
		t.Error("the lost connection was closed before the push ended")
	}
	target.Transport.Close()
	if old.closed != 1 || fresh.closed != 1 {
		t.Errorf("Close closed old %d, fresh %d times; want each once", old.closed, fresh.closed)
	}
	if len(p.stranded) != 0 {
		t.Errorf("stranded = %v", p.stranded)
	}
}

func TestReachReportsAHostThatStaysAway(t *testing.T) {
	prov := &fakeProvider{targets: func(*platform.TargetsRequest) (*platform.TargetsResponse, error) {
		return nil, errors.New("connect to host web2: timed out after 2s (connect_timeout)")
	}}
	p, target, old := reachFixture(prov)
	err := p.reach(t.Context(), target, errLost, "r1", "r2")
	if err == nil {
		t.Fatal("reach of an unreachable host succeeded")
	}
	for _, want := range []string{"it could not be switched back: connect again: connect to host web2: timed out after 2s (connect_timeout)",
		"its current release is r1 or r2, complete either way", "`plat status prod --verify`", "`plat push prod --resume`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !p.stranded["web2"] || p.strandedCount() != 1 {
		t.Errorf("web2 not counted as stranded: %v", p.stranded)
	}
	target.Transport.Run(t.Context(), &platform.Command{Args: []string{"true"}})
	if len(old.ran) != 1 {
		t.Error("the target lost its transport")
	}
}

func TestRedialableDialsFromHereWithoutADialer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := &redialable{cur: &fakeTransport{}}
	c, err := r.DialContext(t.Context(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestOrList(t *testing.T) {
	for in, want := range map[string]string{"": "", "a": "a", "a b": "a or b", "a b c": "a, b or c"} {
		if got := orList(strings.Fields(in)); got != want {
			t.Errorf("orList(%q) = %q, want %q", in, got, want)
		}
	}
}
