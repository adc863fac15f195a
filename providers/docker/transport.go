package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
)

// sharedClient is one daemon connection shared by the transports of one
// Targets call; the last Close releases it.
type sharedClient struct {
	c    *Client
	refs atomic.Int32
}

func (s *sharedClient) acquire() *Client { s.refs.Add(1); return s.c }

func (s *sharedClient) release() {
	if s.refs.Add(-1) == 0 {
		s.c.Close()
	}
}

// Transport runs commands in one container through the Engine API's exec
// endpoints. It implements platform.Transport and platform.Dialer, and
// offers PutArchive as a fast path for files.
type Transport struct {
	shared    *sharedClient
	c         *Client
	id        string // container id
	container string // container name
	host      string // plat host name
	env       string // plat environment name, for hints
	ip        string
	closed    atomic.Bool
}

func newTransport(shared *sharedClient, id, containerName, env, host, ip string) *Transport {
	return &Transport{shared: shared, c: shared.acquire(), id: id, container: containerName, env: env, host: host, ip: ip}
}

// pidMarker prefixes the first stderr line of every exec: the wrapper
// shell prints its pid (which the exec'd program keeps) so a cancelled
// command can be killed, with its process group, from another exec.
const pidMarker = "plat-exec-pid:"

// execArgv wraps args so the exec reports its pid on stderr, then becomes
// args through exec "$@" (no shell ever sees the arguments as text).
func execArgv(args []string) []string {
	return append([]string{"sh", "-c", `echo "` + pidMarker + `$$" >&2; exec "$@"`, "sh"}, args...)
}

// killArgv kills the process group the exec leads (docker exec makes every
// exec a session leader), then escalates to KILL after a grace period.
func killArgv(pid int) []string {
	p := strconv.Itoa(pid)
	return []string{"sh", "-c", `kill -TERM -"$1" 2>/dev/null || exit 0; sleep 2; kill -KILL -"$1" 2>/dev/null; exit 0`, "sh", p}
}

// Run runs cmd in the container and waits for it. See platform.Transport.
func (t *Transport) Run(ctx context.Context, cmd *platform.Command) error {
	if t.closed.Load() {
		return fmt.Errorf("host %s: transport is closed", t.host)
	}
	if len(cmd.Args) == 0 {
		return fmt.Errorf("host %s: run: empty command", t.host)
	}
	what := cmd.Args[0]
	stdout := cmd.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	var stderrTail *tailBytes
	stderr := cmd.Stderr
	if stderr == nil {
		stderrTail = &tailBytes{max: 4096}
		stderr = stderrTail
	}

	opts := client.ExecCreateOptions{
		AttachStdin:  cmd.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
		Env:          envList(cmd.Env),
		WorkingDir:   cmd.Dir,
		Cmd:          execArgv(cmd.Args),
	}
	var size client.ConsoleSize
	if cmd.TTY != nil {
		size = client.ConsoleSize{Height: uint(cmd.TTY.Rows), Width: uint(cmd.TTY.Cols)}
		opts.TTY, opts.ConsoleSize = true, size
		opts.Env = append(opts.Env, "TERM="+cmd.TTY.TermName())
	}
	created, err := t.c.api.ExecCreate(ctx, t.id, opts)
	if err != nil {
		return t.failed(ctx, err, "run %s", what)
	}
	att, err := t.c.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: opts.TTY, ConsoleSize: size})
	if err != nil {
		return t.failed(ctx, err, "run %s", what)
	}
	defer att.Close()
	if cmd.TTY != nil {
		// The daemon may start the exec's terminal at 0x0 whatever the
		// create request said: set the size once it runs, as docker's own
		// CLI does.
		for i := 0; i < 10; i++ {
			_, err := t.c.api.ExecResize(ctx, created.ID, client.ExecResizeOptions{Height: size.Height, Width: size.Width})
			if err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(i+1) * 10 * time.Millisecond)
		}
	}
	defer cmd.TTY.FollowResize(func(ws platform.WindowSize) {
		_, _ = t.c.api.ExecResize(ctx, created.ID, client.ExecResizeOptions{Height: uint(ws.Rows), Width: uint(ws.Cols)})
	})()

	if cmd.Stdin != nil {
		go func() {
			// An error here means the command stopped reading (it exited):
			// its exit status tells what happened.
			io.Copy(att.Conn, cmd.Stdin)
			att.CloseWrite()
		}()
	}
	filter := &pidFilter{w: stderr, pid: make(chan int, 1)}
	copied := make(chan error, 1)
	go func() {
		var err error
		if cmd.TTY != nil {
			// A terminal is one raw stream, the wrapper's pid line first.
			filter.w = stdout
			_, err = io.Copy(filter, att.Reader)
		} else {
			_, err = stdcopy.StdCopy(stdout, filter, att.Reader)
		}
		filter.flush()
		copied <- err
	}()

	select {
	case <-ctx.Done():
		t.kill(ctx, filter.pid)
		// Closing the stream ends the copy, so nothing writes to the
		// caller's writers once Run has returned.
		att.Close()
		<-copied
		return fmt.Errorf("host %s: run %s: %w", t.host, what, ctx.Err())
	case err := <-copied:
		if err != nil && !errors.Is(err, io.EOF) {
			return t.failed(ctx, err, "run %s: read output", what)
		}
	}

	code, err := t.exitCode(ctx, created.ID)
	if err != nil {
		return err
	}
	if code == 0 {
		return nil
	}
	// A container stopped under the command kills it: that is not the
	// command's failure, and the caller must not read it as one. The
	// daemon may learn that the container died a moment after the exec
	// ended, so a command killed by a signal waits for it briefly.
	tries := 1
	if code > 128 {
		tries = 10
	}
	for i := 0; i < tries; i++ {
		if err := t.checkRunning(ctx); err != nil {
			return fmt.Errorf("host %s: run %s: %w", t.host, what, err)
		}
		if i+1 < tries {
			select {
			case <-ctx.Done():
				return fmt.Errorf("host %s: run %s: %w", t.host, what, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	e := &platform.ExitError{Code: code}
	if stderrTail != nil {
		e.Stderr = string(bytes.TrimSpace(stderrTail.Bytes()))
	}
	return e
}

// exitCode waits for the exec to be reported finished and returns its code.
func (t *Transport) exitCode(ctx context.Context, execID string) (int, error) {
	for i := 0; ; i++ {
		res, err := t.c.api.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		if err != nil {
			return 0, t.failed(ctx, err, "inspect command")
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		// The output stream ended but the process is still reported: a
		// short race in the daemon, or the container died under it.
		if i == 20 {
			if err := t.checkRunning(ctx); err != nil {
				return 0, fmt.Errorf("host %s: %w", t.host, err)
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("host %s: wait for command: %w", t.host, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// kill stops a cancelled command: a detached exec kills its process group.
// It runs on a context that outlives the cancelled one, briefly.
func (t *Transport) kill(ctx context.Context, pids <-chan int) {
	var pid int
	select {
	case pid = <-pids:
	case <-time.After(2 * time.Second):
		return // the wrapper never started: nothing to kill
	}
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	ex, err := t.c.api.ExecCreate(kctx, t.id, client.ExecCreateOptions{Cmd: killArgv(pid)})
	if err != nil {
		return
	}
	t.c.api.ExecStart(kctx, ex.ID, client.ExecStartOptions{Detach: true})
}

// ErrContainerStopped is wrapped by the errors of commands whose container
// stopped or was removed (before or while they ran).
var ErrContainerStopped = errors.New("not running")

// checkRunning returns an error wrapping ErrContainerStopped when the
// container is no longer running (nil when it is).
func (t *Transport) checkRunning(ctx context.Context) error {
	res, err := t.c.api.ContainerInspect(ctx, t.id, client.ContainerInspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("container %s was removed (%w): run `plat up %s` to recreate it", t.container, ErrContainerStopped, t.env)
	case err != nil:
		return t.c.wrap(err, "inspect container %s", t.container)
	case res.Container.State == nil || !res.Container.State.Running:
		state := "stopped"
		if res.Container.State != nil {
			state = string(res.Container.State.Status)
		}
		return fmt.Errorf("container %s %s (%w): run `plat up %s` to start it", t.container, state, ErrContainerStopped, t.env)
	}
	return nil
}

// failed turns an API error into one naming the host; a stopped or
// removed container says so.
func (t *Transport) failed(ctx context.Context, err error, format string, args ...any) error {
	if ctx.Err() != nil {
		return fmt.Errorf("host %s: "+format+": %w", append(append([]any{t.host}, args...), ctx.Err())...)
	}
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("host %s: %w", t.host, t.c.unreachable(err))
	}
	if cerr := t.checkRunning(ctx); cerr != nil {
		return fmt.Errorf("host %s: "+format+": %w", append(append([]any{t.host}, args...), cerr)...)
	}
	return fmt.Errorf("host %s: "+format+": %w", append(append([]any{t.host}, args...), err)...)
}

// DialContext opens a TCP connection to the container: addresses on the
// container's loopback or named after the host go to the container's IP
// on the environment's network (reachable from the Docker host on Linux).
// Only listeners on the container's network interface are reachable.
func (t *Transport) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("host %s: dial %s: %w", t.host, addr, err)
	}
	switch host {
	case "", "localhost", "127.0.0.1", "::1", "0.0.0.0", t.host, t.container:
		if t.ip == "" {
			return nil, fmt.Errorf("host %s: dial %s: container %s has no IP address", t.host, addr, t.container)
		}
		host = t.ip
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", t.host, err)
	}
	return conn, nil
}

// PutArchive extracts a tar stream into dir (which must exist) in the
// container, through the Engine API's archive endpoint: faster than
// piping tar through exec for large uploads. Owners are the container's
// root; modes and mtimes come from the archive.
func (t *Transport) PutArchive(ctx context.Context, dir string, tar io.Reader) error {
	if t.closed.Load() {
		return fmt.Errorf("host %s: transport is closed", t.host)
	}
	_, err := t.c.api.CopyToContainer(ctx, t.id, client.CopyToContainerOptions{DestinationPath: dir, Content: tar})
	if err != nil {
		return t.failed(ctx, err, "copy files to %s", dir)
	}
	return nil
}

// Host is the plat host name of the container.
func (t *Transport) Host() string { return t.host }

// ContainerID is the container's id.
func (t *Transport) ContainerID() string { return t.id }

// Close releases the transport; it is idempotent.
func (t *Transport) Close() error {
	if t.closed.CompareAndSwap(false, true) {
		t.shared.release()
	}
	return nil
}

// pidFilter passes stderr through, minus the wrapper's pid line, which it
// delivers on pid.
type pidFilter struct {
	w    io.Writer
	pid  chan int
	buf  []byte
	done bool
}

func (f *pidFilter) Write(p []byte) (int, error) {
	if f.done {
		return f.w.Write(p)
	}
	f.buf = append(f.buf, p...)
	i := bytes.IndexByte(f.buf, '\n')
	if i < 0 && len(f.buf) < 64 {
		return len(p), nil
	}
	f.done = true
	rest := f.buf
	if i >= 0 && bytes.HasPrefix(f.buf, []byte(pidMarker)) {
		// A terminal ends the line with \r\n.
		if pid, err := strconv.Atoi(string(bytes.TrimSuffix(f.buf[len(pidMarker):i], []byte("\r")))); err == nil {
			f.pid <- pid
			rest = f.buf[i+1:]
		}
	}
	f.buf = nil
	if len(rest) > 0 {
		if _, err := f.w.Write(rest); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flush writes what is still held back (output shorter than a line that
// is not the marker, e.g. an exec that failed before the wrapper ran).
func (f *pidFilter) flush() {
	if !f.done && len(f.buf) > 0 {
		f.w.Write(f.buf)
	}
	f.done = true
}

// tailBytes keeps the last max bytes written to it.
type tailBytes struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBytes) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBytes) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.b...)
}

// Interface guards.
var (
	_ platform.Transport = (*Transport)(nil)
	_ platform.Dialer    = (*Transport)(nil)
)

// ContainerTransport runs commands in any running container of c's daemon
// (the swarm provider execs into a service's task with it). host names
// the container in errors. Close releases c.
func ContainerTransport(c *Client, id, name, host string) *Transport {
	return newTransport(&sharedClient{c: c}, id, name, "", host, "")
}
