package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/plat-sh/plat/platform"
	pluginv1 "github.com/plat-sh/plat/plugins/proto"
)

// stdinChunk is the size of stdin messages.
const stdinChunk = 64 << 10

// remoteTransport is a target's transport inside the plugin, addressed by
// the id the plugin gave it.
type remoteTransport struct {
	c      *Client
	id     string
	target string

	closeOnce sync.Once
	closeErr  error
}

// Run streams the command through the plugin. Cancelling ctx cancels the
// stream, which cancels the plugin-side context and so the command.
func (t *remoteTransport) Run(ctx context.Context, cmd *platform.Command) error {
	if cmd.TTY != nil {
		// Protocol v1 streams stdin, stdout and stderr, but has no message
		// for a terminal or its size.
		return &Error{Plugin: t.c.name, Op: "run", Target: t.target,
			Err: fmt.Errorf("%w: plugin protocol v1 carries stdin and output but no terminal; run without -t (stdin is still forwarded with -i)", platform.ErrNoTTY)}
	}
	cctx, cancel := callCtx(ctx)
	defer cancel()
	stream, err := t.c.rpc.Run(cctx)
	if err != nil {
		return t.c.fail(ctx, "run", t.target, err)
	}
	start := &pluginv1.RunStart{
		TransportId: t.id, Target: t.target, Args: cmd.Args, Dir: cmd.Dir, Env: cmd.Env,
		Stdin: cmd.Stdin != nil,
	}
	if err := stream.Send(&pluginv1.RunRequest{Msg: &pluginv1.RunRequest_Start{Start: start}}); err != nil {
		return t.c.fail(ctx, "run", t.target, t.recvErr(stream, err))
	}

	// stdinErr is set before stdinDone closes.
	var stdinErr error
	stdinDone := make(chan struct{})
	if cmd.Stdin != nil {
		go func() {
			defer close(stdinDone)
			stdinErr = sendStdin(stream, cmd.Stdin)
		}()
	} else {
		close(stdinDone)
		_ = stream.CloseSend()
	}

	stdout, stderr := cmd.Stdout, cmd.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("plugin ended the command stream without a result")
			}
			return t.c.fail(ctx, "run", t.target, err)
		}
		switch x := m.GetMsg().(type) {
		case *pluginv1.RunResponse_Stdout:
			if _, err := stdout.Write(x.Stdout); err != nil {
				return &Error{Plugin: t.c.name, Op: "run", Target: t.target, Err: fmt.Errorf("write stdout: %w", err)}
			}
		case *pluginv1.RunResponse_Stderr:
			if _, err := stderr.Write(x.Stderr); err != nil {
				return &Error{Plugin: t.c.name, Op: "run", Target: t.target, Err: fmt.Errorf("write stderr: %w", err)}
			}
		case *pluginv1.RunResponse_Result:
			res := x.Result
			if res.GetError() != "" {
				return &Error{Plugin: t.c.name, Op: "run", Target: t.target, Err: errors.New(res.GetError())}
			}
			if res.GetExitCode() != 0 {
				return &platform.ExitError{Code: int(res.GetExitCode()), Stderr: res.GetStderrTail()}
			}
			// The command succeeded; if it did not read all of stdin that
			// is fine, but a failing stdin reader is an error.
			select {
			case <-stdinDone:
				if stdinErr != nil {
					return &Error{Plugin: t.c.name, Op: "run", Target: t.target, Err: fmt.Errorf("read stdin: %w", stdinErr)}
				}
			default:
			}
			return nil
		}
	}
}

// sendStdin copies r to the stream, then tells the plugin stdin ended. A
// send error means the stream is over (the command finished or failed):
// the receiving side reports it, so it is not an error here.
func sendStdin(stream pluginv1.Provider_RunClient, r io.Reader) error {
	buf := make([]byte, stdinChunk)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if serr := stream.Send(&pluginv1.RunRequest{Msg: &pluginv1.RunRequest_Stdin{Stdin: buf[:n]}}); serr != nil {
				return nil
			}
		}
		if err != nil {
			_ = stream.Send(&pluginv1.RunRequest{Msg: &pluginv1.RunRequest_StdinEof{StdinEof: &pluginv1.StdinEOF{}}})
			_ = stream.CloseSend()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// recvErr returns the stream's real error after a failed Send (gRPC
// reports io.EOF on Send and the status on Recv).
func (t *remoteTransport) recvErr(stream pluginv1.Provider_RunClient, sendErr error) error {
	if !errors.Is(sendErr, io.EOF) {
		return sendErr
	}
	if _, err := stream.Recv(); err != nil {
		return err
	}
	return sendErr
}

// Close releases the plugin-side transport. Idempotent.
func (t *remoteTransport) Close() error {
	t.closeOnce.Do(func() {
		if t.c.Exited() {
			return
		}
		ctx, cancel := context.WithTimeout(t.c.life, 30*time.Second)
		defer cancel()
		if _, err := t.c.rpc.CloseTransport(ctx, &pluginv1.CloseTransportRequest{TransportId: t.id}); err != nil {
			if t.c.life.Err() != nil {
				return // the client was closed: nothing left to release
			}
			t.closeErr = t.c.fail(ctx, "close transport", t.target, err)
		}
	})
	return t.closeErr
}

// dialingTransport is a remote transport whose plugin side can dial.
type dialingTransport struct{ *remoteTransport }

// DialContext opens a connection as seen from the target, proxied through
// the plugin. ctx bounds the dial only; the connection lives until closed
// (or until the client is closed).
func (t *dialingTransport) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	sctx, cancel := context.WithCancel(t.c.life)
	stop := context.AfterFunc(ctx, cancel)
	fail := func(err error) (net.Conn, error) {
		cancel()
		if ctx.Err() != nil {
			return nil, &Error{Plugin: t.c.name, Op: "dial " + addr, Target: t.target, Err: ctx.Err()}
		}
		return nil, t.c.fail(sctx, "dial "+addr, t.target, err)
	}
	stream, err := t.c.rpc.Dial(sctx)
	if err != nil {
		return fail(err)
	}
	start := &pluginv1.DialStart{TransportId: t.id, Target: t.target, Network: network, Address: addr}
	if err := stream.Send(&pluginv1.DialRequest{Msg: &pluginv1.DialRequest_Start{Start: start}}); err != nil {
		return fail(err)
	}
	m, err := stream.Recv()
	if err != nil {
		return fail(err)
	}
	if e := m.GetError(); e != "" {
		cancel()
		return nil, &Error{Plugin: t.c.name, Op: "dial " + addr, Target: t.target, Err: errors.New(e)}
	}
	if m.GetConnected() == nil {
		return fail(errors.New("plugin answered dial without connecting"))
	}
	if !stop() {
		// ctx ended right as the connection was made.
		return fail(ctx.Err())
	}
	mine, theirs := net.Pipe()
	// plugin -> caller
	go func() {
		defer cancel()
		defer theirs.Close()
		for {
			m, err := stream.Recv()
			if err != nil {
				return
			}
			if d := m.GetData(); len(d) > 0 {
				if _, err := theirs.Write(d); err != nil {
					return
				}
			}
			if m.GetError() != "" {
				return
			}
		}
	}()
	// caller -> plugin; the caller's Close ends the whole stream.
	go func() {
		defer cancel()
		buf := make([]byte, 32<<10)
		for {
			n, err := theirs.Read(buf)
			if n > 0 {
				if serr := stream.Send(&pluginv1.DialRequest{Msg: &pluginv1.DialRequest_Data{Data: buf[:n]}}); serr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return mine, nil
}

var (
	_ platform.Transport = (*remoteTransport)(nil)
	_ platform.Transport = (*dialingTransport)(nil)
	_ platform.Dialer    = (*dialingTransport)(nil)
)
