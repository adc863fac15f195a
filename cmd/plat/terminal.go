package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/plat-sh/plat/platform"
)

// terminal is plat's own terminal lent to a remote program: raw mode
// (every key, ^C and ^D included, goes to the remote terminal, which
// interprets them) and window sizes followed through SIGWINCH.
type terminal struct {
	tty     *platform.TTY
	restore func()
}

// openTerminal puts stdin's terminal in raw mode and describes it for
// a transport. It returns nil, nil when stdin is not a terminal.
// The caller must call restore, which is idempotent: on every return
// path, so a failed or cancelled command leaves the terminal as it was.
func (a *app) openTerminal() (*terminal, error) {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, nil
	}
	fd := int(f.Fd())
	cols, rows, err := term.GetSize(fd)
	if err != nil {
		return nil, fmt.Errorf("read the terminal's size: %w", err)
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("put the terminal in raw mode: %w", err)
	}
	resize := make(chan platform.WindowSize, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-winch:
				c, r, err := term.GetSize(fd)
				if err != nil {
					continue
				}
				// Only the latest size matters: replace one not yet taken.
				select {
				case <-resize:
				default:
				}
				resize <- platform.WindowSize{Rows: uint16(r), Cols: uint16(c)}
			}
		}
	}()
	t := &terminal{tty: &platform.TTY{Rows: uint16(rows), Cols: uint16(cols), Term: os.Getenv("TERM"), Resize: resize}}
	restored := false
	t.restore = func() {
		if restored {
			return
		}
		restored = true
		signal.Stop(winch)
		close(done)
		_ = term.Restore(fd, old)
	}
	return t, nil
}
