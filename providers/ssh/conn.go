package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/plat-sh/plat/platform"
)

// ErrConnectionLost is wrapped by errors of commands and dials that failed
// because the SSH connection died (the peer went away or stopped answering
// keepalives). It is never an *platform.ExitError. It is
// platform.ErrConnectionLost, so the engine tells it apart from a failed
// command.
var ErrConnectionLost = platform.ErrConnectionLost

// errClosed is the reason recorded when the caller closed the Conn.
var errClosed = errors.New("connection closed")

// Conn is one SSH connection to a host. Commands run concurrently, each in
// its own session; Close ends them all.
type Conn struct {
	name           string // the host as the user named it
	addr           string
	client         *ssh.Client
	hops           []*ssh.Client // jump hosts, first hop first
	become         string
	commandTimeout time.Duration
	sessions       chan struct{} // one token per allowed concurrent session

	deadOnce sync.Once
	dead     chan struct{}
	deadErr  error // set before dead is closed
}

// Dial connects to the host spec names, through its ProxyJump hops if any,
// verifying every host key against known_hosts and authenticating with
// identity files and ssh-agent keys. ctx bounds the whole dial; each hop
// is also bounded by the connect timeout. With Become, Dial checks that
// `sudo -n` works before returning.
func Dial(ctx context.Context, spec HostSpec) (*Conn, error) {
	cfg, err := loadSSHConfig(spec.ConfigFile)
	if err != nil {
		return nil, err
	}
	target, err := resolve(spec, cfg)
	if err != nil {
		return nil, err
	}
	var hops []*ssh.Client
	closeHops := func() {
		for i := len(hops) - 1; i >= 0; i-- {
			hops[i].Close()
		}
	}
	var via *ssh.Client
	for _, h := range target.jumps {
		hop, err := resolveJump(h, spec, cfg)
		if err != nil {
			closeHops()
			return nil, fmt.Errorf("connect to %s: %w", target, err)
		}
		c, err := dialEndpoint(ctx, hop, via, hop.agent)
		if err != nil {
			closeHops()
			return nil, fmt.Errorf("connect to %s through jump host: %w", target, err)
		}
		hops = append(hops, c)
		via = c
	}
	client, err := dialEndpoint(ctx, target, via, target.agent)
	if err != nil {
		closeHops()
		return nil, err
	}
	max := spec.MaxSessions
	if max <= 0 {
		max = DefaultMaxSessions
	}
	c := &Conn{
		name:           target.alias,
		addr:           target.addr(),
		client:         client,
		hops:           hops,
		become:         spec.Become,
		commandTimeout: spec.CommandTimeout,
		sessions:       make(chan struct{}, max),
		dead:           make(chan struct{}),
	}
	go func() {
		err := client.Wait()
		if err == nil {
			err = io.EOF
		}
		c.lose(err)
	}()
	if target.keepAlive > 0 {
		go c.keepAlive(target.keepAlive, target.keepAliveMax)
	}
	if c.become != "" {
		var stderr strings.Builder
		cmd := &platform.Command{Args: []string{"true"}, Stderr: &stderr}
		if err := c.Run(ctx, cmd); err != nil {
			c.Close()
			return nil, fmt.Errorf("become %s on %s: %w; hint: the login user needs passwordless sudo (sudo -n)", c.become, c.name, err)
		}
	}
	return c, nil
}

// dialEndpoint opens the TCP connection (directly or through via) and runs
// the SSH handshake and authentication.
func dialEndpoint(ctx context.Context, e *endpoint, via *ssh.Client, sock string) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, e.connectTimeout)
	defer cancel()
	hk, err := loadHostKeys(e.knownHosts, e.knownHostsW)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", e, err)
	}
	keys, err := loadKeys(e, sock)
	if err != nil {
		return nil, fmt.Errorf("connect to %s as %s: %w", e, e.user, err)
	}
	defer keys.Close()

	var nc net.Conn
	switch {
	case via == nil && e.proxyCommand != "":
		var pc *proxyConn
		pc, err = startProxyCommand(e.proxyCommandLine(), e.addr())
		if pc != nil {
			nc = pc
		}
	case via == nil:
		var d net.Dialer
		nc, err = d.DialContext(ctx, "tcp", e.addr())
	default:
		nc, err = via.DialContext(ctx, "tcp", e.addr())
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", e, timeoutErr(ctx, err, e.connectTimeout))
	}
	// The handshake has no ctx: a deadline bounds it and a watcher
	// aborts it on cancel.
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	algs := hk.algorithms(e.hostKeyAddr)
	if len(algs) == 0 {
		algs = e.hostKeyAlgorithms
	}
	config := &ssh.ClientConfig{
		User:              e.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(keys.signers...)},
		HostKeyCallback:   hk.callback(e),
		HostKeyAlgorithms: algs,
		Timeout:           e.connectTimeout,
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, e.addr(), config)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		return nil, fmt.Errorf("connect to %s: %w", e, timeoutErr(ctx, ctx.Err(), e.connectTimeout))
	}
	if err != nil {
		if pc, ok := nc.(*proxyConn); ok {
			if perr := pc.failure(); perr != nil {
				nc.Close()
				return nil, fmt.Errorf("connect to %s: %w", e, perr)
			}
		}
		nc.Close()
		return nil, fmt.Errorf("connect to %s: %w", e, handshakeErr(e, hk, keys, err, ctx, e.connectTimeout))
	}
	nc.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

func timeoutErr(ctx context.Context, err error, d time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err) {
		return fmt.Errorf("timed out after %s (connect_timeout): %w", d, err)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handshakeErr turns handshake failures into errors that say what to do.
func handshakeErr(e *endpoint, hk *hostKeys, keys *keyring, err error, ctx context.Context, d time.Duration) error {
	var hke *HostKeyError
	if errors.As(err, &hke) {
		return hke
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "no common algorithm for host key"):
		if known, _ := hk.known(e.hostKeyAddr); len(known) > 0 {
			return &HostKeyError{Host: e.alias, Addr: e.hostKeyAddr, File: known[0].Filename, Line: known[0].Line, Known: true}
		}
	case strings.Contains(msg, "unable to authenticate"):
		s := fmt.Sprintf("authenticate as %s: server refused every key offered (%s)", e.user, strings.Join(keys.tried, ", "))
		if len(keys.notes) > 0 {
			s += "; " + strings.Join(keys.notes, "; ")
		}
		return fmt.Errorf("%s: %w; hint: check user and identity_file, and that the public key is in the host's authorized_keys", s, err)
	}
	return timeoutErr(ctx, err, d)
}

// keepAlive sends keepalive@openssh.com every interval and declares the
// connection lost when no reply came for max intervals. OpenSSH answers
// the request with a failure message, which is still an answer.
func (c *Conn) keepAlive(interval time.Duration, max int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.dead:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		timer := time.NewTimer(interval * time.Duration(max))
		select {
		case err := <-reply:
			timer.Stop()
			if err != nil {
				c.lose(err)
				return
			}
		case <-timer.C:
			c.lose(fmt.Errorf("no answer from the host for %s (keepalives every server_alive_interval %s × server_alive_count_max %d)", interval*time.Duration(max), interval, max))
			return
		case <-c.dead:
			timer.Stop()
			return
		}
	}
}

// lose records why the connection ended and closes it; the first reason
// wins.
func (c *Conn) lose(reason error) {
	c.deadOnce.Do(func() {
		c.deadErr = reason
		close(c.dead)
		c.client.Close()
		for i := len(c.hops) - 1; i >= 0; i-- {
			c.hops[i].Close()
		}
	})
}

// deadError is the error for work on a dead connection.
func (c *Conn) deadError() error {
	if errors.Is(c.deadErr, errClosed) {
		return fmt.Errorf("connection to %s is closed", c.name)
	}
	return &lostError{host: c.name, addr: c.addr, reason: c.deadErr}
}

// lostError is ErrConnectionLost with the host and the reason.
type lostError struct {
	host, addr string
	reason     error
}

func (e *lostError) Error() string {
	return fmt.Sprintf("connection to %s (%s) was lost: %v", e.host, e.addr, e.reason)
}

func (e *lostError) Is(target error) bool { return target == ErrConnectionLost }

func (e *lostError) Unwrap() error { return e.reason }

func (c *Conn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// Run runs cmd.Args on the host. See platform.Transport.
func (c *Conn) Run(ctx context.Context, cmd *platform.Command) error {
	if len(cmd.Args) == 0 {
		return fmt.Errorf("run on %s: empty command", c.name)
	}
	prog := cmd.Args[0]
	line, err := remoteCommand(cmd, c.become)
	if err != nil {
		return fmt.Errorf("run %s on %s: %w", prog, c.name, err)
	}
	// An interactive terminal session lasts as long as its user wants.
	if c.commandTimeout > 0 && cmd.TTY == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.commandTimeout,
			fmt.Errorf("command timed out after %s (command_timeout)", c.commandTimeout))
		defer cancel()
	}
	ctxErr := func() error {
		err := ctx.Err()
		if cause := context.Cause(ctx); cause != nil && cause != err {
			return fmt.Errorf("run %s on %s: %v: %w", prog, c.name, cause, err)
		}
		return fmt.Errorf("run %s on %s: %w", prog, c.name, err)
	}

	select {
	case c.sessions <- struct{}{}:
		defer func() { <-c.sessions }()
	case <-ctx.Done():
		return ctxErr()
	case <-c.dead:
		return fmt.Errorf("run %s: %w", prog, c.deadError())
	}

	sess, err := c.client.NewSession()
	if err != nil {
		if c.waitDead(time.Second) {
			return fmt.Errorf("run %s: %w", prog, c.deadError())
		}
		return fmt.Errorf("run %s on %s: open session: %w", prog, c.name, err)
	}
	defer sess.Close()
	var tail *tailBuffer
	sess.Stdin = cmd.Stdin
	sess.Stdout = cmd.Stdout
	if sess.Stdout == nil {
		sess.Stdout = io.Discard
	}
	stderr := cmd.Stderr
	if stderr == nil {
		tail = &tailBuffer{max: 4096}
		stderr = tail
	}
	pids := newPidFilter(stderr)
	sess.Stderr = pids
	if cmd.TTY != nil {
		// On a terminal the program's stderr, the pid line included, is
		// the terminal's one output stream.
		pids = newPidFilter(sess.Stdout)
		sess.Stdout, sess.Stderr = pids, nil
		modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := sess.RequestPty(cmd.TTY.TermName(), int(cmd.TTY.Rows), int(cmd.TTY.Cols), modes); err != nil {
			return fmt.Errorf("run %s on %s: request a terminal: %w", prog, c.name, err)
		}
		defer cmd.TTY.FollowResize(func(ws platform.WindowSize) {
			_ = sess.WindowChange(int(ws.Rows), int(ws.Cols))
		})()
	}
	if err := sess.Start(line); err != nil {
		if c.waitDead(time.Second) {
			return fmt.Errorf("run %s: %w", prog, c.deadError())
		}
		return fmt.Errorf("run %s on %s: %w", prog, c.name, err)
	}
	waitc := make(chan error, 1)
	go func() { waitc <- sess.Wait() }()

	select {
	case err = <-waitc:
		pids.flush()
	case <-ctx.Done():
		c.stop(sess, pids, waitc)
		return ctxErr()
	case <-c.dead:
		sess.Close()
		awaitBounded(waitc)
		return fmt.Errorf("run %s: %w", prog, c.deadError())
	}

	var ee *ssh.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		x := &platform.ExitError{Code: ee.ExitStatus()}
		if tail != nil {
			x.Stderr = strings.TrimSpace(tail.String())
		}
		if x.Code == 0 && ee.Signal() != "" {
			// Killed by a signal: the code a shell reports, 128+n.
			x.Code = 128 + signalNumber(ee.Signal())
		}
		return fmt.Errorf("run %s on %s: %w", prog, c.name, x)
	}
	// No exit status: the channel went away, usually with the connection.
	if c.waitDead(2 * time.Second) {
		return fmt.Errorf("run %s: %w", prog, c.deadError())
	}
	return fmt.Errorf("run %s on %s: %w", prog, c.name, err)
}

// signalNumber is the Linux number of an SSH signal name (RFC 4254
// 6.10), 0 for names it does not know.
func signalNumber(name string) int {
	n := map[string]syscall.Signal{
		"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP,
		"ILL": syscall.SIGILL, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE,
		"QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM,
		"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
	}[name]
	return int(n)
}

// stop ends a cancelled command. The signal request reaches the program
// for non-root logins only (sshd refuses it where it runs the session
// unprivileged-separated, as for root) and cannot kill through sudo, so
// the command's process group is also killed from a second session.
func (c *Conn) stop(sess *ssh.Session, pids *pidFilter, waitc <-chan error) {
	sess.Signal(ssh.SIGKILL)
	// The pid arrives as soon as the remote shell runs; a loaded host
	// may take a moment.
	select {
	case <-pids.ready:
	case <-waitc:
		return
	case <-time.After(5 * time.Second):
	}
	if pid := pids.pid(); pid > 0 && !c.isDead() {
		c.killGroup(pid)
	}
	sess.Close()
	awaitBounded(waitc)
}

// killGroup runs kill on the host, bounded in time: the caller's context
// is already cancelled.
func (c *Conn) killGroup(pid int) {
	ks, err := c.client.NewSession()
	if err != nil {
		return
	}
	defer ks.Close()
	done := make(chan error, 1)
	go func() { done <- ks.Run(killCommand(pid, c.become)) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// awaitBounded waits for the session's copy goroutines so they no longer
// write to the caller's writers, but not forever.
func awaitBounded(waitc <-chan error) {
	select {
	case <-waitc:
	case <-time.After(5 * time.Second):
	}
}

// waitDead reports whether the connection is (or within d becomes) dead:
// a session failing is often the first sign of a lost connection.
func (c *Conn) waitDead(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.dead:
		return true
	case <-t.C:
		return false
	}
}

// DialContext opens a TCP connection from the host to addr through the SSH
// connection (direct-tcpip). See platform.Dialer.
func (c *Conn) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.isDead() {
		return nil, fmt.Errorf("dial %s through %s: %w", addr, c.name, c.deadError())
	}
	nc, err := c.client.DialContext(ctx, network, addr)
	if err != nil {
		if c.isDead() {
			return nil, fmt.Errorf("dial %s through %s: %w", addr, c.name, c.deadError())
		}
		return nil, fmt.Errorf("dial %s through %s: %w", addr, c.name, err)
	}
	return nc, nil
}

// Close closes the connection and its jump hosts' connections; running
// commands fail. It is idempotent.
func (c *Conn) Close() error {
	c.lose(errClosed)
	return nil
}

// Name is the host as the user named it.
func (c *Conn) Name() string { return c.name }

// pidFilter passes stderr on, minus the pidMarker line the command line
// prints before the command runs, and remembers the pid.
type pidFilter struct {
	mu     sync.Mutex
	w      io.Writer
	head   []byte
	passed bool
	p      int
	ready  chan struct{} // closed once the first line was seen
}

func newPidFilter(w io.Writer) *pidFilter {
	return &pidFilter{w: w, ready: make(chan struct{})}
}

func (f *pidFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.passed {
		return f.w.Write(p)
	}
	f.head = append(f.head, p...)
	// Lines before the marker come from the login shell's startup files:
	// they are the command's stderr too.
	for {
		i := bytes.IndexByte(f.head, '\n')
		if i < 0 {
			break
		}
		line := f.head[:i]
		f.head = f.head[i+1:]
		if bytes.HasPrefix(line, []byte(pidMarker)) {
			// A terminal ends the line with \r\n.
			if n, err := strconv.Atoi(string(bytes.TrimSuffix(line[len(pidMarker):], []byte("\r")))); err == nil {
				f.p = n
			}
			f.pass()
			break
		}
		if _, err := f.w.Write(line[:len(line)+1]); err != nil {
			return 0, err
		}
	}
	if !f.passed && len(f.head) > 1<<16 {
		f.pass()
	}
	if f.passed && len(f.head) > 0 {
		rest := f.head
		f.head = nil
		if _, err := f.w.Write(rest); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (f *pidFilter) pass() {
	f.passed = true
	close(f.ready)
}

// flush passes on output that never reached a marker line.
func (f *pidFilter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.passed && len(f.head) > 0 {
		f.w.Write(f.head)
	}
	f.head = nil
}

func (f *pidFilter) pid() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.p
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

var (
	_ platform.Transport = (*Conn)(nil)
	_ platform.Dialer    = (*Conn)(nil)
)
