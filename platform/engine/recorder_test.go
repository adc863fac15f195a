package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/plat-sh/plat/platform"
)

// fleetRecorder is a Transport that runs nothing: it records every command's
// argv and answers with what reply says. The engine's tests use it where
// the question is which commands the engine sends and in what order (the
// commands themselves run for real in platform/hostcmd's tests and the
// end-to-end tests in cmd/plat).
type fleetRecorder struct {
	mu    sync.Mutex
	host  string
	log   *commandLog
	reply func(args []string) (stdout string, err error)
}

// commandLog is the order of commands across hosts.
type commandLog struct {
	mu   sync.Mutex
	cmds []recorded
}

type recorded struct {
	host string
	args []string
}

func (l *commandLog) add(host string, args []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cmds = append(l.cmds, recorded{host, append([]string(nil), args...)})
}

// on returns the commands host ran, each as its argv joined by spaces.
func (l *commandLog) on(host string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.cmds {
		if c.host == host {
			out = append(out, strings.Join(c.args, " "))
		}
	}
	return out
}

// argsOn returns the argv of every command host ran.
func (l *commandLog) argsOn(host string) [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][]string
	for _, c := range l.cmds {
		if c.host == host {
			out = append(out, c.args)
		}
	}
	return out
}

func (r *fleetRecorder) Run(ctx context.Context, cmd *platform.Command) error {
	r.log.add(r.host, cmd.Args)
	if cmd.Stdin != nil {
		_, _ = io.Copy(io.Discard, cmd.Stdin)
	}
	if r.reply == nil {
		return nil
	}
	out, err := r.reply(cmd.Args)
	if cmd.Stdout != nil {
		_, _ = io.WriteString(cmd.Stdout, out)
	}
	return err
}

func (r *fleetRecorder) Close() error { return nil }

// recordingFleet returns targets web1…webN over recorders sharing a log.
func recordingFleet(n int, reply func(host string, args []string) (string, error)) ([]*platform.Target, *commandLog) {
	log := &commandLog{}
	var ts []*platform.Target
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("web%d", i)
		r := &fleetRecorder{host: name, log: log}
		if reply != nil {
			r.reply = func(args []string) (string, error) { return reply(name, args) }
		}
		ts = append(ts, &platform.Target{Name: name, DeployTo: "/srv/" + name, Port: 8000 + i, Transport: r})
	}
	return ts, log
}

// eventLog collects the engine's events.
type eventLog struct {
	mu  sync.Mutex
	evs []platform.Event
}

func (l *eventLog) Event(e platform.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e)
}

// steps returns host's step events as "start NAME", "end NAME STATUS".
func (l *eventLog) steps(host string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.evs {
		if e.Host != host {
			continue
		}
		switch e.Type {
		case platform.EventStepStart:
			out = append(out, "start "+e.Step)
		case platform.EventStepEnd:
			out = append(out, "end "+e.Step+" "+string(e.Status))
		}
	}
	return out
}

func (l *eventLog) logs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.evs {
		if e.Type == platform.EventLog {
			out = append(out, e.Message)
		}
	}
	return out
}

func testEngine(t *testing.T) (*Engine, *eventLog) {
	evs := &eventLog{}
	return &Engine{Project: &platform.Project{App: &platform.App{Name: "app"}}, StateDir: t.TempDir(), UI: evs, User: "ada@laptop"}, evs
}
