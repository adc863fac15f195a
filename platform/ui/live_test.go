package ui

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"

	"github.com/plat-sh/plat/platform"
)

// fakeClock is the time the view reads; tests move it.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)

// testLive is a Live at cols columns on a fake clock whose ticker the
// test drives: tick returns once the redraw it caused is written.
type testLive struct {
	*Live
	out   *bytes.Buffer
	clock *fakeClock
	ticks chan time.Time
	done  chan struct{}
	cols  int
}

func newTestLive(cols int) *testLive {
	var out bytes.Buffer
	tl := &testLive{Live: newLive(&out, false), out: &out, clock: &fakeClock{t: t0}, ticks: make(chan time.Time), done: make(chan struct{}), cols: cols}
	tl.Live.redrawn = func() { tl.done <- struct{}{} }
	tl.Live.now = tl.clock.now
	tl.Live.start = t0
	tl.Live.cols = func() int { return tl.cols }
	tl.Live.ticker = func() (<-chan time.Time, func()) { return tl.ticks, func() {} }
	return tl
}

// tick delivers a tick and waits until the loop has redrawn (or, with
// no step running, stopped).
func (tl *testLive) tick(t *testing.T) {
	t.Helper()
	select {
	case tl.ticks <- tl.clock.t:
	case <-time.After(10 * time.Second):
		t.Fatal("the redraw loop does not take ticks")
	}
	select {
	case <-tl.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the redraw loop does not redraw")
	}
}

// screen replays what the view wrote on a terminal of tl.cols columns
// that wraps long lines, and returns its rows.
func (tl *testLive) screen(t *testing.T) []string {
	t.Helper()
	return replay(t, tl.out.String(), tl.cols)
}

var csi = regexp.MustCompile(`^\x1b\[(\d*)([ABK])`)

// replay is a tiny terminal: printable text (wrapping at cols), \n, \r,
// cursor up and down (CSI n A, CSI n B) and erase line (CSI 2 K), the
// only controls the live view writes.
func replay(t *testing.T, s string, cols int) []string {
	t.Helper()
	var rows [][]rune
	r, c := 0, 0
	ensure := func() {
		for len(rows) <= r {
			rows = append(rows, nil)
		}
	}
	for len(s) > 0 {
		if m := csi.FindStringSubmatch(s); m != nil {
			n := 1
			if m[1] != "" {
				fmt.Sscan(m[1], &n)
			}
			switch m[2] {
			case "A":
				r = max(0, r-n)
			case "B":
				r += n
			case "K":
				if n != 2 {
					t.Fatalf("erase line mode %d", n)
				}
				ensure()
				rows[r] = nil
			}
			s = s[len(m[0]):]
			continue
		}
		ch, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		switch ch {
		case '\x1b':
			t.Fatalf("unexpected escape sequence in %q", s)
		case '\n':
			r, c = r+1, 0
		case '\r':
			c = 0
		default:
			if c >= cols {
				r, c = r+1, 0
			}
			ensure()
			for len(rows[r]) < c {
				rows[r] = append(rows[r], ' ')
			}
			if c < len(rows[r]) {
				rows[r][c] = ch
			} else {
				rows[r] = append(rows[r], ch)
			}
			c++
		}
	}
	out := make([]string, 0, len(rows))
	for _, row := range rows {
		out = append(out, string(row))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

func upload(host string, at time.Duration, n, total int64) platform.Event {
	return platform.Event{Type: platform.EventProgress, Time: t0.Add(at), Host: host, Step: "upload r42", Bytes: n, TotalBytes: total, Files: 17}
}

func start(host, step, msg string, at time.Duration) platform.Event {
	return platform.Event{Type: platform.EventStepStart, Time: t0.Add(at), Host: host, Step: step, Message: msg}
}

func TestLiveShowsStepsProgressRateAndETA(t *testing.T) {
	tl := newTestLive(200)
	const MiB = 1 << 20
	tl.Event(start("web1", "upload r42", "17 files, 27.0 MiB", 0))
	tl.Event(start("web2", "health", "http://127.0.0.1:8080/", 0))
	tl.clock.add(2 * time.Second)
	tl.Event(upload("web1", time.Second, 2*MiB, 27*MiB))
	tl.Event(upload("web1", 2*time.Second, 7*MiB, 27*MiB))
	tl.tick(t)
	got := strings.Join(tl.screen(t), "\n")
	want := "" +
		"  web1  upload r42 (17 files, 27.0 MiB)   25%   7.0/27.0 MiB    5.0 MiB/s  eta 4s       2.0s\n" +
		"  web2  health (http://127.0.0.1:8080/)    2.0s\n" +
		"  2.0s elapsed"
	if got != want {
		t.Errorf("screen:\n%s\nwant:\n%s", got, want)
	}
}

func TestLiveTickerMovesElapsedTimes(t *testing.T) {
	tl := newTestLive(80)
	tl.Event(start("web1", "health", "", 0))
	tl.clock.add(1500 * time.Millisecond)
	tl.tick(t)
	if got := tl.screen(t); len(got) != 2 || !strings.HasSuffix(got[0], " 1.5s") || got[1] != "  1.5s elapsed" {
		t.Fatalf("after 1.5s:\n%s", strings.Join(got, "\n"))
	}
	tl.clock.add(62 * time.Second)
	tl.tick(t)
	if got := tl.screen(t); len(got) != 2 || !strings.HasSuffix(got[0], " 1m03s") || got[1] != "  1m03s elapsed" {
		t.Fatalf("after 63.5s:\n%s", strings.Join(got, "\n"))
	}
	// The step ends: its line scrolls above, the block goes, and the
	// loop stops at its next tick (a later tick would block forever).
	tl.Event(platform.Event{Type: platform.EventStepEnd, Time: tl.clock.t, Host: "web1", Step: "health", Status: "ok", Duration: 63500 * time.Millisecond})
	tl.tick(t)
	if got := tl.screen(t); len(got) != 1 || got[0] != "[web1] finished: health (63.500s)" {
		t.Fatalf("after the end:\n%s", strings.Join(got, "\n"))
	}
	tl.Live.mu.Lock()
	ticking := tl.Live.ticking
	tl.Live.mu.Unlock()
	if ticking {
		t.Error("the redraw loop still runs with no step running")
	}
}

func TestLiveLinesFitTheWidth(t *testing.T) {
	const MiB = 1 << 20
	for _, tc := range []struct {
		cols int
		want []string
	}{
		{200, []string{
			"  web1           upload r42 (17 files, 27.0 MiB)   25%   7.0/27.0 MiB    5.0 MiB/s  eta 4s       2.0s",
			"  db-primary-01  task migrate (python manage.py migrate --noinput)    2.0s",
		}},
		// The message goes first, then the amount.
		{60, []string{
			"  web1           upload r42   25%  eta 4s       2.0s",
			"  db-primary-01  task migrate    2.0s",
		}},
		{45, []string{
			"  web1           upload r42   25%    2.0s",
			"  db-primary-01  task migrate    2.0s",
		}},
		// Then the step is cut.
		{24, []string{
			"  web1           uploa…",
			"  db-primary-01  task …",
		}},
	} {
		t.Run(fmt.Sprint(tc.cols), func(t *testing.T) {
			tl := newTestLive(tc.cols)
			tl.Event(start("web1", "upload r42", "17 files, 27.0 MiB", 0))
			tl.Event(start("db-primary-01", "task migrate", "python manage.py migrate --noinput", 0))
			tl.clock.add(2 * time.Second)
			tl.Event(upload("web1", time.Second, 2*MiB, 27*MiB))
			tl.Event(upload("web1", 2*time.Second, 7*MiB, 27*MiB))
			tl.tick(t)
			got := tl.screen(t)
			want := append(sortedLines(tc.want), "  2.0s elapsed")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("at %d columns:\n%s\nwant:\n%s", tc.cols, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, row := range got {
				if w := runewidth.StringWidth(row); w >= tc.cols {
					t.Errorf("row %q is %d wide at %d columns", row, w, tc.cols)
				}
			}
		})
	}
}

// sortedLines puts host lines in the view's order (by host name).
func sortedLines(ls []string) []string {
	out := append([]string(nil), ls...)
	if len(out) == 2 && strings.Contains(out[1], "db-primary-01") {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// A terminal made narrower rewraps the block drawn at the old width; the
// next redraw must erase every row of it, leaving nothing stale.
func TestLiveRedrawAfterShrinkLeavesNoStaleRows(t *testing.T) {
	tl := newTestLive(200)
	tl.Event(platform.Event{Type: platform.EventLog, Time: t0, Host: "localhost", Message: "built r42"})
	tl.Event(start("web1", "upload r42", "17 files, 27.0 MiB, from a long way away over a slow link", 0))
	tl.Event(start("web2", "upload r42", "17 files, 27.0 MiB, from a long way away over a slow link", 0))
	tl.clock.add(time.Second)
	tl.tick(t)
	wide := tl.out.Len()
	// Shrink: replay what was drawn so far at 200 columns onto a 50-column
	// terminal the way tmux reflows it, then the redraw at 50.
	tl.cols = 50
	tl.tick(t)
	reflowed := reflow(replay(t, tl.out.String()[:wide], 200), 50)
	rest := tl.out.String()[wide:]
	got := replay(t, strings.Join(reflowed, "\n")+"\n"+rest, 50)
	want := []string{
		"[localhost] built r42",
		"  web1  upload r42    1.0s",
		"  web2  upload r42    1.0s",
		"  1.0s elapsed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after shrinking to 50 columns:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// reflow splits rows longer than cols, as a terminal that rewraps on
// resize (tmux, VTE, iTerm2) does.
func reflow(rows []string, cols int) []string {
	var out []string
	for _, r := range rows {
		for len(r) > cols {
			out = append(out, r[:cols])
			r = r[cols:]
		}
		out = append(out, r)
	}
	return out
}

func TestFormatting(t *testing.T) {
	const KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
	for _, tc := range []struct{ got, want string }{
		{amountOf(3*MiB+MiB/10, 27*MiB), " 3.1/27.0 MiB"},
		{amountOf(27*MiB, 27*MiB), "27.0/27.0 MiB"},
		{amountOf(0, 2*GiB+GiB/2), "0.0/2.5 GiB"},
		{amountOf(100, 900), "100/900 B"},
		{amountOf(5, 900), "  5/900 B"},
		{amountOf(1536, 0), "1.5 KiB"},
		{amountOf(12, 0), "12 B"},
		{rateOf(5.1 * MiB), "  5.1 MiB/s"},
		{rateOf(980 * KiB), "980.0 KiB/s"},
		{rateOf(12), " 12.0   B/s"},
		{shortDuration(2500 * time.Millisecond), "3s"},
		{shortDuration(65 * time.Second), "1m05s"},
		{shortDuration(2*time.Hour + 7*time.Minute), "2h07m"},
		{elapsed(0), "0.0s"},
		{elapsed(12345 * time.Millisecond), "12.3s"},
		{elapsed(59999 * time.Millisecond), "59.9s"},
		{elapsed(65 * time.Second), "1m05s"},
		{elapsed(3*time.Hour + time.Minute), "3h01m"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestTransferRateAndETA(t *testing.T) {
	const MiB = 1 << 20
	var tr transfer
	tr.add(upload("web1", 0, 0, 30*MiB))
	if r := tr.rate(); r != 0 {
		t.Errorf("rate from one sample = %v", r)
	}
	if _, ok := tr.eta(); ok {
		t.Error("eta known from one sample")
	}
	tr.add(upload("web1", 200*time.Millisecond, MiB, 30*MiB))
	if r := tr.rate(); r != 0 {
		t.Errorf("rate over 200ms = %v, want none yet", r)
	}
	for i := 2; i <= 10; i++ { // 2 MiB/s for 5s
		tr.add(upload("web1", time.Duration(i)*500*time.Millisecond, int64(i)*MiB, 30*MiB))
	}
	if r := tr.rate(); r != 2*MiB {
		t.Errorf("rate = %v, want 2 MiB/s", r/MiB)
	}
	if d, ok := tr.eta(); !ok || d != 10*time.Second {
		t.Errorf("eta = %v %v, want 10s", d, ok)
	}
	if p, _ := tr.percent(); p != 33 {
		t.Errorf("percent = %d", p)
	}
	// The link slows to 1 MiB/s: after a window the rate follows.
	for i := 1; i <= 12; i++ {
		tr.add(upload("web1", 5*time.Second+time.Duration(i)*500*time.Millisecond, 10*MiB+int64(i)*MiB/2, 30*MiB))
	}
	if r := tr.rate(); r != 1*MiB {
		t.Errorf("rate after slowing = %v MiB/s, want 1", r/MiB)
	}
	// A retried upload with another plan starts over.
	tr.add(upload("web1", 12*time.Second, 0, 40*MiB))
	if r := tr.rate(); r != 0 || tr.total != 40*MiB {
		t.Errorf("after a new round: rate %v total %d", r, tr.total)
	}
}

func TestPlainPrintsProgressOfLongStepsOnly(t *testing.T) {
	const MiB = 1 << 20
	var b bytes.Buffer
	l := &Lines{W: &b}
	l.Event(start("web1", "upload r42", "17 files, 27.0 MiB", 0))
	l.Event(start("web2", "upload r42", "17 files, 1.0 MiB", 0))
	l.Event(upload("web2", 300*time.Millisecond, MiB, MiB))
	l.Event(platform.Event{Type: platform.EventStepEnd, Time: t0.Add(time.Second), Host: "web2", Step: "upload r42", Status: "ok", Duration: time.Second})
	for ms := 250; ms <= 13000; ms += 250 { // 2 MiB/s
		l.Event(upload("web1", time.Duration(ms)*time.Millisecond, int64(ms)*2*MiB/1000, 27*MiB))
	}
	l.Event(platform.Event{Type: platform.EventStepEnd, Time: t0.Add(14 * time.Second), Host: "web1", Step: "upload r42", Status: "ok", Duration: 14 * time.Second})
	want := `[web1] running: upload r42 (17 files, 27.0 MiB)
[web2] running: upload r42 (17 files, 1.0 MiB)
[web2] finished: upload r42 (1.000s)
[web1] upload r42: 37% 10.0/27.0 MiB 2.0 MiB/s eta 9s
[web1] upload r42: 74% 20.0/27.0 MiB 2.0 MiB/s eta 4s
[web1] finished: upload r42 (14.000s)
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Error("plain output has escape sequences")
	}
}

// A resize redraws at once at the new width, without waiting for a tick.
func TestLiveRedrawsOnResize(t *testing.T) {
	tl := newTestLive(200)
	resized := make(chan os.Signal)
	tl.Live.resize = func() (<-chan os.Signal, func()) { return resized, func() {} }
	tl.Event(start("web1", "upload r42", "17 files, 27.0 MiB", 0))
	if got := tl.screen(t); got[0] != "  web1  upload r42 (17 files, 27.0 MiB)    0.0s" {
		t.Fatalf("at 200 columns: %q", got[0])
	}
	tl.cols = 30
	select {
	case resized <- syscall.SIGWINCH:
	case <-time.After(10 * time.Second):
		t.Fatal("the redraw loop does not watch resizes")
	}
	<-tl.done
	if got := tl.screen(t); got[0] != "  web1  upload r42    0.0s" {
		t.Errorf("after the resize to 30 columns: %q", got[0])
	}
}

// A long step without progress events of its own gets a "still running"
// line every plainEvery in plain output; an upload that reports progress
// does not get one beside its progress lines.
func TestPlainSaysStillRunning(t *testing.T) {
	var b bytes.Buffer
	ticks := make(chan time.Time)
	stopped := make(chan struct{})
	l := &Lines{W: &b, ticker: func() (<-chan time.Time, func()) {
		return ticks, func() { close(stopped) }
	}}
	// The channel is unbuffered, so a tick is taken once the loop has
	// finished the one before: the second send waits for the first beat,
	// which printed what it had to (the same instant prints nothing more).
	tick := func(at time.Duration) { ticks <- t0.Add(at); ticks <- t0.Add(at) }
	l.Event(start("web1", "build", "python", 0))
	l.Event(start("web2", "upload r42", "17 files, 27.0 MiB", 0))
	tick(3 * time.Second) // too early for either
	l.Event(upload("web2", 4900*time.Millisecond, 1<<20, 27<<20))
	tick(5 * time.Second)
	tick(7 * time.Second) // web1 printed at 5 s: quiet until 10 s
	tick(10 * time.Second)
	l.Event(platform.Event{Type: platform.EventStepEnd, Time: t0.Add(11 * time.Second), Host: "web1", Step: "build", Status: "ok", Duration: 11 * time.Second})
	l.Event(platform.Event{Type: platform.EventStepEnd, Time: t0.Add(11 * time.Second), Host: "web2", Step: "upload r42", Status: "ok", Duration: 11 * time.Second})
	// The loop ends at its first tick with no step running (which may be
	// the second send of the last tick).
	for done := false; !done; {
		select {
		case ticks <- t0.Add(12 * time.Second):
		case <-stopped:
			done = true
		case <-time.After(10 * time.Second):
			t.Fatal("the heartbeat loop goes on with no step running")
		}
	}
	want := `[web1] running: build (python)
[web2] running: upload r42 (17 files, 27.0 MiB)
[web1] build: still running (5.0s)
[web1] build: still running (10.0s)
[web2] upload r42: still running (10.0s)
[web1] finished: build (11.000s)
[web2] finished: upload r42 (11.000s)
`
	l.mu.Lock()
	got := b.String()
	l.mu.Unlock()
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
