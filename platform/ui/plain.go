package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
)

// Plain output (CI logs) shows a step's progress once it has run for
// plainAfter, then at most every plainEvery: a quick upload prints
// nothing more than its running and finished lines.
const (
	plainAfter = 5 * time.Second
	plainEvery = 5 * time.Second
)

// plainStep is what Lines keeps of a host's running step.
type plainStep struct {
	start, printed time.Time
	tr             transfer
}

// progressLine follows steps and returns the progress line e calls for,
// or "": "[web1] upload r42: 45% 12.3/27.0 MiB 5.1 MiB/s eta 3s".
func (l *Lines) progressLine(e platform.Event) string {
	switch e.Type {
	case platform.EventStepStart:
		if l.steps == nil {
			l.steps = map[string]*plainStep{}
		}
		l.steps[e.Host] = &plainStep{start: e.Time}
	case platform.EventStepEnd:
		delete(l.steps, e.Host)
	case platform.EventProgress:
		s := l.steps[e.Host]
		if s == nil {
			// Progress without a step start: count from here.
			if l.steps == nil {
				l.steps = map[string]*plainStep{}
			}
			s = &plainStep{start: e.Time}
			l.steps[e.Host] = s
		}
		s.tr.add(e)
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
