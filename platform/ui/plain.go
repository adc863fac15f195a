package ui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
)

// Plain output (CI logs) shows a step's progress once it has run for
// plainAfter, then at most every plainEvery: a quick upload prints
// nothing more than its running and finished lines. A long step that
// reports no progress of its own (a build, a release task, a health
// check) gets a "still running" line on the same schedule, so a CI log
// never goes quiet for long without saying what it waits for.
const (
	plainAfter = 5 * time.Second
	plainEvery = 5 * time.Second
)

// plainStep is what Lines keeps of a host's running step.
type plainStep struct {
	name           string
	start, printed time.Time
	progressed     time.Time // the last progress event: its own lines cover the step
	tr             transfer
}

// heartbeat starts the loop that prints "still running" lines, unless it
// runs. Called with l.mu held.
func (l *Lines) heartbeat() {
	if l.ticking {
		return
	}
	ticker := l.ticker
	if ticker == nil {
		ticker = func() (<-chan time.Time, func()) {
			t := time.NewTicker(plainEvery)
			return t.C, t.Stop
		}
	}
	l.ticking = true
	ticks, stop := ticker()
	go func() {
		defer stop()
		for now := range ticks {
			if !l.beat(now) {
				return
			}
		}
	}()
}

// beat prints a line for each step that has run past plainAfter and
// printed nothing for plainEvery; it reports whether any step runs.
func (l *Lines) beat(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.steps) == 0 {
		l.ticking = false
		return false
	}
	hosts := make([]string, 0, len(l.steps))
	for h := range l.steps {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		s := l.steps[h]
		last := s.printed
		if last.IsZero() {
			last = s.start
		}
		if s.name == "" || now.Sub(s.start) < plainAfter || now.Sub(last) < plainEvery || now.Sub(s.progressed) < plainEvery {
			continue
		}
		s.printed = now
		fmt.Fprintf(l.W, "%s %s: still running (%s)\n", l.paint(bold, "["+h+"]"), s.name, elapsed(now.Sub(s.start)))
	}
	return true
}

// progressLine follows steps and returns the progress line e calls for,
// or "": "[web1] upload r42: 45% 12.3/27.0 MiB 5.1 MiB/s eta 3s".
func (l *Lines) progressLine(e platform.Event) string {
	switch e.Type {
	case platform.EventStepStart:
		if l.steps == nil {
			l.steps = map[string]*plainStep{}
		}
		l.steps[e.Host] = &plainStep{name: e.Step, start: e.Time}
		l.heartbeat()
	case platform.EventStepEnd:
		delete(l.steps, e.Host)
	case platform.EventProgress:
		s := l.steps[e.Host]
		if s == nil {
			// Progress without a step start: count from here.
			if l.steps == nil {
				l.steps = map[string]*plainStep{}
			}
			s = &plainStep{name: e.Step, start: e.Time}
			l.steps[e.Host] = s
		}
		s.tr.add(e)
		s.progressed = e.Time
		done := e.TotalBytes > 0 && e.Bytes >= e.TotalBytes
		if done || e.Time.Sub(s.start) < plainAfter || (!s.printed.IsZero() && e.Time.Sub(s.printed) < plainEvery) {
			return ""
		}
		s.printed = e.Time
		pct, amount, rate, eta := s.tr.fields()
		parts := strings.Fields(strings.Join([]string{pct, amount, rate, eta}, " "))
		return fmt.Sprintf("%s %s: %s\n", l.paint(bold, "["+e.Host+"]"), e.Step, strings.Join(parts, " "))
	}
	return ""
}
