package remote

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/plat-sh/plat/platform"
)

// DefaultGrace is how long a cancelled remote command may take to run its
// cancel path (stop the rollout, switch hosts back, unlock) before Run
// cuts the session.
const DefaultGrace = 2 * time.Minute

// interrupt is what a terminal's ^C sends.
const interrupt = 0x03

// RunOptions is one command run on an admin node.
type RunOptions struct {
	// Bin is the plat binary, relative to $HOME (Ensure's path).
	Bin  string
	Args []string
	// Stdout and Stderr get the command's output as it comes (on a
	// terminal, Stdout gets both).
	Stdout, Stderr io.Writer
	// Input is forwarded to the command's stdin (a terminal's keys); nil
	// forwards nothing. It is never closed by Run.
	Input io.Reader
	// TTY runs the command on a remote terminal.
	TTY *platform.TTY
	// Grace bounds the remote cancel path (0: DefaultGrace).
	Grace time.Duration
	// Force, when it delivers, cuts the session of a cancelled command at
	// once (a second ^C).
	Force <-chan struct{}
	// Cancelling is called once when ctx is cancelled and the remote
	// command is asked to stop.
	Cancelling func()
}

// Run runs plat on the admin node behind t and returns its exit code.
// An error means the command's outcome is unknown (the connection was
// lost, or a cancelled command was cut off after the grace period).
//
// Cancelling ctx asks the remote plat to stop as a user at its terminal
// would: without a terminal its stdin is closed (the admin side of plat
// treats end of input as ^C), on a terminal ^C is typed. Run then waits
// for it to end, for at most the grace period.
func Run(ctx context.Context, t platform.Transport, opts RunOptions) (int, error) {
	stdin, feed := io.Pipe()
	defer feed.Close()
	if opts.Input != nil {
		go func() { _, _ = io.Copy(feed, opts.Input) }()
	}
	// The session's own context is not ctx: the transport kills a
	// command whose context ends, and the remote plat must get the chance
	// to clean up.
	sessCtx, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	done := make(chan error, 1)
	go func() {
		args := append([]string{"sh", "-c", runScript, "plat", opts.Bin}, opts.Args...)
		done <- t.Run(sessCtx, &platform.Command{Args: args, Stdin: stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, TTY: opts.TTY})
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		if opts.Cancelling != nil {
			opts.Cancelling()
		}
		if opts.TTY != nil {
			go func() { _, _ = feed.Write([]byte{interrupt}) }()
		} else {
			feed.Close()
		}
		grace := opts.Grace
		if grace <= 0 {
			grace = DefaultGrace
		}
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case err = <-done:
		case <-timer.C:
			cut()
			<-done
			return -1, errors.New("the remote plat did not stop within " + grace.String() + " of the cancel: its session was cut")
		case <-opts.Force:
			cut()
			<-done
			return -1, errors.New("disconnected at once (second interrupt): the remote plat was killed")
		}
	}
	if err == nil {
		return 0, nil
	}
	if code := platform.ExitCode(err); code >= 0 {
		return code, nil
	}
	return -1, err
}
