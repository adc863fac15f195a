package ui

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
	"golang.org/x/term"

	"github.com/plat-sh/plat/platform"
)

// tickEvery is how often the live view redraws while a step runs, so
// elapsed times, rates and ETAs move between events.
const tickEvery = 200 * time.Millisecond

// Live is the terminal view: finished steps scroll above a block that
// shows, per host, the step it is on, upload progress (percent, bytes,
// rate, time left) and elapsed time. The block is redrawn on events and
// by a ticker while steps run, and its lines are cut to the terminal's
// width, read at each redraw (and on SIGWINCH), so none of them wraps and
// a redraw erases exactly what the last one drew.
type Live struct {
	mu    sync.Mutex
	w     io.Writer
	lines Lines
	hosts map[string]*liveHost
	order []string
	start time.Time
	last  time.Time // of the last redraw
	// drawn is the display width of each block line on the screen.
	drawn []int

	now  func() time.Time
	cols func() int
	// ticker starts the redraw ticker; resize, when set, delivers the
	// terminal's resizes. The loop runs while a step does.
	ticker  func() (<-chan time.Time, func())
	resize  func() (<-chan os.Signal, func())
	ticking bool
	// redrawn, when set, is called after each redraw of the loop (tests).
	redrawn func()
}

type liveHost struct {
	step    string
	message string
	since   time.Time
	upload  *transfer
	active  bool
}

// NewLive renders to a terminal. When w is a terminal, its width is read
// at each redraw and a resize redraws the block.
func NewLive(w io.Writer, color bool) *Live {
	l := newLive(w, color)
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		l.cols = func() int {
			c, _, err := term.GetSize(fd)
			if err != nil || c <= 0 {
				return 80
			}
			return c
		}
		l.resize = watchResize
	}
	return l
}

// newLive is a Live with a real clock and ticker, 80 columns and no
// resize signal; tests replace them.
func newLive(w io.Writer, color bool) *Live {
	return &Live{
		w: w, lines: Lines{W: w, Color: color}, hosts: map[string]*liveHost{},
		now:  time.Now,
		cols: func() int { return 80 },
		ticker: func() (<-chan time.Time, func()) {
			t := time.NewTicker(tickEvery)
			return t.C, t.Stop
		},
		start: time.Now(),
	}
}

// watchResize delivers SIGWINCH where the system has it.
func watchResize() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	if len(resizeSignals) == 0 {
		return ch, func() {}
	}
	signal.Notify(ch, resizeSignals...)
	return ch, func() { signal.Stop(ch) }
}

// Event updates the view.
func (l *Live) Event(e platform.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.host(e.Host)
	above := ""
	switch e.Type {
	case platform.EventStepStart:
		*h = liveHost{step: e.Step, message: e.Message, since: e.Time, active: true}
		if h.since.IsZero() {
			h.since = l.now()
		}
		l.startTicker()
	case platform.EventProgress:
		if h.upload == nil {
			h.upload = &transfer{}
		}
		h.upload.add(e)
		if l.now().Sub(l.last) < 100*time.Millisecond {
			return // the ticker shows it soon
		}
	case platform.EventStepEnd:
		h.active, h.upload = false, nil
		above = l.lines.format(e)
	case platform.EventLog:
		above = l.lines.format(e)
	case platform.EventSummary:
		l.hosts, l.order = map[string]*liveHost{}, nil
		above = l.lines.format(e)
	}
	l.draw(above)
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

// running reports whether a step runs on some host.
func (l *Live) running() bool {
	for _, h := range l.hosts {
		if h.active {
			return true
		}
	}
	return false
}

// startTicker starts the redraw loop unless it runs; l.mu is held.
func (l *Live) startTicker() {
	if l.ticking || l.ticker == nil {
		return
	}
	l.ticking = true
	ticks, stop := l.ticker()
	var resized <-chan os.Signal
	unwatch := func() {}
	if l.resize != nil {
		resized, unwatch = l.resize()
	}
	go l.loop(ticks, resized, func() { stop(); unwatch() })
}

// loop redraws on each tick and resize until no step runs.
func (l *Live) loop(ticks <-chan time.Time, resized <-chan os.Signal, stop func()) {
	defer stop()
	for {
		select {
		case <-ticks:
		case <-resized:
		}
		l.mu.Lock()
		if !l.running() {
			l.ticking = false
			l.mu.Unlock()
			if l.redrawn != nil {
				l.redrawn()
			}
			return
		}
		l.draw("")
		l.mu.Unlock()
		if l.redrawn != nil {
			l.redrawn()
		}
	}
}

// draw erases the block, prints above (finished lines, which scroll)
// and draws the block again, in one write; l.mu is held.
func (l *Live) draw(above string) {
	cols := l.cols()
	var b strings.Builder
	// The block's lines were cut to the width they were drawn at; a
	// terminal made narrower since has rewrapped them, so each may now
	// take more than one row.
	rows := 0
	for _, w := range l.drawn {
		rows += max(1, (w+cols-1)/cols)
	}
	eraseUp(&b, rows)
	b.WriteString(above)
	now := l.now()
	l.last = now
	block := l.block(now, cols-1)
	l.drawn = l.drawn[:0]
	for _, line := range block {
		b.WriteString(line + "\n")
		l.drawn = append(l.drawn, runewidth.StringWidth(line))
	}
	io.WriteString(l.w, b.String())
}

// eraseUp erases the rows rows above the cursor, leaving it at the start
// of the top one. Row by row: erasing from there to the end of the screen
// would, when the block is at the top of the screen, clear the whole
// screen, which tmux (scroll-on-clear) and others push into the
// scrollback.
func eraseUp(b *strings.Builder, rows int) {
	if rows <= 0 {
		return
	}
	fmt.Fprintf(b, "\r\x1b[%dA", rows)
	for i := 0; i < rows; i++ {
		b.WriteString("\x1b[2K")
		if i < rows-1 {
			b.WriteString("\x1b[B")
		}
	}
	if rows > 1 {
		fmt.Fprintf(b, "\x1b[%dA", rows-1)
	}
}

// block returns the lines of the running steps and the elapsed time, none
// wider than width.
func (l *Live) block(now time.Time, width int) []string {
	var out []string
	nameW := 0
	for _, name := range l.order {
		if l.hosts[name].active {
			nameW = max(nameW, runewidth.StringWidth(name))
		}
	}
	for _, name := range l.order {
		if h := l.hosts[name]; h.active {
			out = append(out, hostLine(name, nameW, h, now, width))
		}
	}
	if len(out) > 0 {
		out = append(out, fit([]field{{text: "  " + elapsed(now.Sub(l.start)) + " elapsed"}}, width))
	}
	return out
}

// field is a part of a block line; when the line is too wide, the fields
// with the lowest drop rank go first (0: never dropped).
type field struct {
	text  string
	drop  int
	tight bool // one space before it, not two
}

// hostLine is one host's line:
//
//	web1  upload r42   45%  12.3/27.0 MiB    5.1 MiB/s  eta 3s      2.1s
//
// At a narrow width the step's message goes first, then the amount, the
// rate, the time left, the percent and the elapsed time; the step is cut
// last.
func hostLine(name string, nameW int, h *liveHost, now time.Time, width int) string {
	fs := []field{{text: "  " + runewidth.FillRight(name, nameW)}, {text: h.step}}
	if h.message != "" {
		fs = append(fs, field{text: "(" + oneLine(h.message) + ")", drop: 1, tight: true})
	}
	if h.upload != nil {
		pct, amount, rate, eta := h.upload.fields()
		if eta != "" {
			eta = fmt.Sprintf("%-9s", eta)
		}
		fs = append(fs, field{text: pct, drop: 5}, field{text: amount, drop: 2}, field{text: rate, drop: 3}, field{text: eta, drop: 4})
	}
	fs = append(fs, field{text: fmt.Sprintf("%6s", elapsed(now.Sub(h.since))), drop: 6})
	return fit(fs, width)
}

// fit joins the fields with two spaces, dropping fields by rank while the
// line is wider than width, then cutting it.
func fit(fs []field, width int) string {
	width = max(width, 1)
	kept := make([]field, 0, len(fs))
	for _, f := range fs {
		if f.text != "" {
			kept = append(kept, f)
		}
	}
	for {
		line := join(kept)
		if runewidth.StringWidth(line) <= width {
			return line
		}
		drop, rank := -1, 0
		for i, f := range kept {
			if f.drop > 0 && (drop < 0 || f.drop < rank) {
				drop, rank = i, f.drop
			}
		}
		if drop < 0 {
			return runewidth.Truncate(line, width, "…")
		}
		kept = append(kept[:drop], kept[drop+1:]...)
	}
}

func join(fs []field) string {
	var b strings.Builder
	for i, f := range fs {
		switch {
		case i == 0:
		case f.tight:
			b.WriteString(" ")
		default:
			b.WriteString("  ")
		}
		b.WriteString(f.text)
	}
	return b.String()
}

var _ platform.UI = (*Live)(nil)
