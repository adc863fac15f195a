// Package ui renders engine events for people (per-host lines, or a live
// view on a terminal) and for programs (one JSON object per line). All
// renderers take the same events, so what CI logs and what a person sees
// never disagree.
package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/plat-sh/plat/platform"
)

// Lines prints the per-host lines ops teams already read:
//
//	[web1] running: upload r42 (17 files changed, 212 KiB)
//	[web1] finished: upload r42 (0.414s)
type Lines struct {
	mu    sync.Mutex
	W     io.Writer
	Color bool
	steps map[string]*plainStep // running steps, for progress lines (plain.go)

	// ticker drives the "still running" lines (plain.go); nil means a
	// real ticker every plainEvery.
	ticker  func() (<-chan time.Time, func())
	ticking bool
}

const (
	red   = "\x1b[31m"
	green = "\x1b[32m"
	dim   = "\x1b[2m"
	bold  = "\x1b[1m"
	reset = "\x1b[0m"
)

func (l *Lines) paint(code, s string) string {
	if !l.Color {
		return s
	}
	return code + s + reset
}

// Event prints one event.
func (l *Lines) Event(e platform.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprint(l.W, l.progressLine(e)+l.format(e))
}

func (l *Lines) format(e platform.Event) string {
	host := "[" + e.Host + "]"
	switch e.Type {
	case platform.EventStepStart:
		msg := e.Step
		if e.Message != "" {
			msg += " (" + e.Message + ")"
		}
		return fmt.Sprintf("%s running: %s\n", l.paint(bold, host), msg)
	case platform.EventStepEnd:
		if e.Status == "failed" {
			return fmt.Sprintf("%s %s %s: %s (%s)\n", l.paint(bold, host), l.paint(red, "failed:"), e.Step, oneLine(e.Error), Seconds(e.Duration))
		}
		return fmt.Sprintf("%s %s %s (%s)\n", l.paint(bold, host), l.paint(green, "finished:"), e.Step, Seconds(e.Duration))
	case platform.EventLog:
		return fmt.Sprintf("%s %s\n", l.paint(dim, host), e.Message)
	case platform.EventSummary:
		var b strings.Builder
		b.WriteString("\n")
		WriteSummary(&b, e.Rows)
		return b.String()
	}
	return ""
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// Seconds formats a duration as ops teams read it: 1.234s.
func Seconds(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }

// WriteSummary prints the table of hosts.
func WriteSummary(w io.Writer, rows []platform.SummaryRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tRELEASE\tDURATION\tSTATUS")
	for _, r := range rows {
		st := string(r.Status)
		if r.Note != "" {
			st += " (" + r.Note + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Host, r.Release, Seconds(r.Duration), st)
	}
	tw.Flush()
}

// JSON prints one JSON object per event.
type JSON struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSON writes events to w.
func NewJSON(w io.Writer) *JSON { return &JSON{enc: json.NewEncoder(w)} }

// Event encodes e.
func (j *JSON) Event(e platform.Event) { j.encode(NewJSONEvent(e)) }

var (
	_ platform.UI = (*Lines)(nil)
	_ platform.UI = (*JSON)(nil)
)
