package ui

import (
	"fmt"
	"time"

	"github.com/plat-sh/plat/platform"
)

// rateWindow is how far back the transfer rate looks: long enough to
// smooth the bursts of a stream read in 256 KiB chunks, short enough to
// follow a link that slows down.
const rateWindow = 5 * time.Second

// transfer follows one host's upload from its progress events. Times are
// the events' own, so what it computes does not depend on when the
// events are rendered.
type transfer struct {
	bytes, total int64
	samples      []sample
}

type sample struct {
	t time.Time
	n int64
}

// add records a progress event.
func (tr *transfer) add(e platform.Event) {
	if e.Bytes < tr.bytes || e.TotalBytes != tr.total {
		// A new round (the upload was retried with another plan).
		tr.samples = nil
	}
	tr.bytes, tr.total = e.Bytes, e.TotalBytes
	tr.samples = append(tr.samples, sample{e.Time, e.Bytes})
	// Keep the newest sample older than the window as the base.
	cut := 0
	for i := range tr.samples {
		if e.Time.Sub(tr.samples[i].t) >= rateWindow {
			cut = i
		}
	}
	tr.samples = tr.samples[cut:]
}

// rate returns bytes per second over the window, or 0 while it spans too
// little time to say.
func (tr *transfer) rate() float64 {
	if len(tr.samples) < 2 {
		return 0
	}
	first, last := tr.samples[0], tr.samples[len(tr.samples)-1]
	d := last.t.Sub(first.t)
	if d < 500*time.Millisecond {
		return 0
	}
	return float64(last.n-first.n) / d.Seconds()
}

// eta returns the time left at the current rate, and whether it is known.
func (tr *transfer) eta() (time.Duration, bool) {
	r := tr.rate()
	if r <= 0 || tr.total <= 0 || tr.bytes > tr.total {
		return 0, false
	}
	return time.Duration(float64(tr.total-tr.bytes) / r * float64(time.Second)), true
}

// percent returns how much of the total has arrived, and whether the
// total is known.
func (tr *transfer) percent() (int, bool) {
	if tr.total <= 0 {
		return 0, false
	}
	p := int(tr.bytes * 100 / tr.total)
	return min(p, 100), true
}

// fields are the transfer's parts as the views show them: percent,
// amount, rate and time left; a part that is not known is "".
func (tr *transfer) fields() (pct, amount, rate, eta string) {
	if p, ok := tr.percent(); ok {
		pct = fmt.Sprintf("%3d%%", p)
	}
	amount = amountOf(tr.bytes, tr.total)
	if r := tr.rate(); r > 0 {
		rate = rateOf(r)
	}
	if d, ok := tr.eta(); ok {
		eta = "eta " + shortDuration(d)
	}
	return pct, amount, rate, eta
}

var units = []string{"B", "KiB", "MiB", "GiB", "TiB"}

// scale picks the unit for n: the smallest that keeps the value below
// 1000, so "%5.1f" never widens (1000 KiB is shown as 1.0 MiB).
func scale(n float64) (float64, string) {
	u := 0
	for n >= 1000 && u < len(units)-1 {
		n /= 1024
		u++
	}
	return n, units[u]
}

// amountOf formats n of total in total's unit, n padded to total's width
// so the line does not jitter as n grows: " 3.1/27.0 MiB". Without a
// total, n alone: "3.1 MiB".
func amountOf(n, total int64) string {
	if total <= 0 {
		v, u := scale(float64(n))
		if u == "B" {
			return fmt.Sprintf("%d B", n)
		}
		return fmt.Sprintf("%.1f %s", v, u)
	}
	tv, u := scale(float64(total))
	div := float64(total) / tv
	if u == "B" {
		t := fmt.Sprintf("%d", total)
		return fmt.Sprintf("%*d/%s B", len(t), n, t)
	}
	t := fmt.Sprintf("%.1f", tv)
	return fmt.Sprintf("%*.1f/%s %s", len(t), float64(n)/div, t, u)
}

// rateOf formats bytes per second in a fixed width: "  5.1 MiB/s".
func rateOf(r float64) string {
	v, u := scale(r)
	return fmt.Sprintf("%5.1f %3s/s", v, u)
}

// shortDuration formats a time left in whole seconds: 3s, 1m05s, 2h07m.
func shortDuration(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second) // round up: never "0s" while bytes remain
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}

// elapsed formats a running time in tenths below a minute: 0.4s, 12.3s,
// 1m05s, 2h07m.
func elapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Truncate(100*time.Millisecond).Seconds())
	}
	s := int64(d / time.Second)
	if s < 3600 {
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}
