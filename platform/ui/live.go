package ui

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/plat-sh/plat/platform"
)

// Live is the terminal view: finished steps scroll above a block that
// shows, per host, the step it is on, upload progress and elapsed time.
type Live struct {
	mu    sync.Mutex
	lines Lines
	w     io.Writer
	hosts map[string]*liveHost
	order []string
	drawn int
	last  time.Time
	start time.Time
	Width int
}

type liveHost struct {
	step     string
	since    time.Time
	progress string
	failed   bool
	done     bool
}

// NewLive renders to a terminal.
func NewLive(w io.Writer, color bool) *Live {
	return &Live{w: w, lines: Lines{W: w, Color: color}, hosts: map[string]*liveHost{}, start: time.Now(), Width: 100}
}

// Event updates the view.
func (l *Live) Event(e platform.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.host(e.Host)
	switch e.Type {
	case platform.EventStepStart:
		h.step, h.since, h.progress, h.done = e.Step, e.Time, "", false
		if e.Message != "" {
			h.step += " (" + e.Message + ")"
		}
	case platform.EventProgress:
		h.progress = fmt.Sprintf("%s, %d files", e.Message, e.Files)
		if time.Since(l.last) < 100*time.Millisecond {
			return
		}
	case platform.EventStepEnd:
		h.done, h.failed = true, e.Status == "failed"
		l.clear()
		fmt.Fprint(l.w, l.lines.format(e))
	case platform.EventLog, platform.EventSummary:
		l.clear()
		if e.Type == platform.EventSummary {
			l.hosts, l.order = map[string]*liveHost{}, nil
		}
		fmt.Fprint(l.w, l.lines.format(e))
	}
	l.draw()
}

func (l *Live) host(name string) *liveHost {
	if name == "" {
		name = "localhost"
	}
	h := l.hosts[name]
	if h == nil {
		h = &liveHost{}
		l.hosts[name] = h
		l.order = append(l.order, name)
		sort.Strings(l.order)
	}
	return h
}

func (l *Live) clear() {
	if l.drawn > 0 {
		fmt.Fprintf(l.w, "\x1b[%dA\x1b[J", l.drawn)
		l.drawn = 0
	}
}

func (l *Live) draw() {
	l.clear()
	l.last = time.Now()
	var b strings.Builder
	n := 0
	for _, name := range l.order {
		h := l.hosts[name]
		if h.done || h.step == "" {
			continue
		}
		line := fmt.Sprintf("  %-12s %s", name, h.step)
		if h.progress != "" {
			line += "  " + h.progress
		}
		line += fmt.Sprintf("  %s", time.Since(h.since).Round(100*time.Millisecond))
		if len(line) > l.Width {
			line = line[:l.Width]
		}
		b.WriteString(line + "\n")
		n++
	}
	if n > 0 {
		fmt.Fprintf(&b, "  %s elapsed\n", time.Since(l.start).Round(100*time.Millisecond))
		n++
	}
	fmt.Fprint(l.w, b.String())
	l.drawn = n
}

var _ platform.UI = (*Live)(nil)
