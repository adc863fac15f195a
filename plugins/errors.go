package plugins

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrPluginExited is wrapped by errors of calls during which the plugin
// process died (crashed, was killed, or exited on its own).
var ErrPluginExited = errors.New("plugin process exited unexpectedly")

// Error is a failed call into a plugin. It names the plugin, the operation
// and, for transport calls, the target.
type Error struct {
	Plugin string // provider name, e.g. "dirs"
	Op     string // "run", "targets", "configure", ...
	Target string // target name for transport calls, else ""
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %s", e.Plugin)
	if e.Target != "" {
		fmt.Fprintf(&b, ": target %s", e.Target)
	}
	fmt.Fprintf(&b, ": %s: %v", e.Op, e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ProtocolError is a plugin that speaks a protocol version this plat does
// not.
type ProtocolError struct {
	Plugin    string
	Path      string
	Version   int   // what the plugin speaks
	Supported []int // what this plat speaks
}

func (e *ProtocolError) Error() string {
	sup := make([]string, len(e.Supported))
	for i, v := range e.Supported {
		sup[i] = "v" + strconv.Itoa(v)
	}
	hint := "install a release of the plugin built for protocol " + strings.Join(sup, ", ")
	if len(e.Supported) > 0 && e.Version > e.Supported[len(e.Supported)-1] {
		hint = "upgrade plat, or " + hint
	}
	return fmt.Sprintf("plugin %s (%s) speaks protocol v%d, this plat supports %s\nhint: %s",
		e.Plugin, e.Path, e.Version, strings.Join(sup, ", "), hint)
}

var (
	unrecognisedRE = regexp.MustCompile(`Unrecognized remote plugin message: ([^\n]*)`)
	apiVersionRE   = regexp.MustCompile(`incompatible API version with plugin\. Plugin version: (\d+)`)
)

// handshakeError turns go-plugin's start errors into messages that say
// which binary failed and what to do.
func (c *Client) handshakeError(err error) error {
	msg := err.Error()
	who := fmt.Sprintf("plugin %s (%s)", c.name, c.path)
	if m := apiVersionRE.FindStringSubmatch(msg); m != nil {
		v, _ := strconv.Atoi(m[1])
		return &ProtocolError{Plugin: c.name, Path: c.path, Version: v, Supported: []int{ProtocolVersion}}
	}
	if m := unrecognisedRE.FindStringSubmatch(msg); m != nil {
		line := strings.TrimSpace(m[1])
		if line == "" {
			return fmt.Errorf("%s exited before the plugin handshake%s\nhint: is it a plat provider plugin? run it by hand to see its error",
				who, c.stderrSuffix())
		}
		return fmt.Errorf("%s printed %q on stdout before the plugin handshake: a plugin must not write to stdout before sdk.Serve (log to stderr)\nhint: is it a plat provider plugin built with plugins/sdk?",
			who, truncate(line, 120))
	}
	if strings.Contains(msg, "exited before we could connect") {
		return fmt.Errorf("%s exited before the plugin handshake%s\nhint: is it a plat provider plugin? run it by hand to see its error",
			who, c.stderrSuffix())
	}
	if strings.Contains(msg, "unsupported plugin protocol") {
		return fmt.Errorf("%s offers net/rpc, plat needs gRPC: rebuild it with plat's plugins/sdk: %w", who, err)
	}
	return fmt.Errorf("start %s: %w%s", who, err, c.stderrSuffix())
}

// stderrSuffix is "; plugin stderr: <panic line or last lines>" or "".
func (c *Client) stderrSuffix() string {
	if p := c.stderr.panicLine(); p != "" {
		return "; plugin stderr: " + truncate(p, 600)
	}
	lines := c.stderr.lastLines(5)
	if len(lines) == 0 {
		return ""
	}
	return "; plugin stderr: " + truncate(strings.Join(lines, " | "), 600)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// callCtx derives the context of one RPC from the caller's ctx without
// its deadline: the deadline would travel to the plugin, which could then
// reset the stream a moment before ctx itself reports it expired, and the
// caller would not see ctx.Err(). Cancellation still flows: the RPC is
// cancelled as soon as ctx is done.
func callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	return cctx, func() { stop(); cancel() }
}

// fail turns a gRPC error of a call into an *Error. Cancellation keeps
// ctx.Err() in the chain; a dead plugin process becomes ErrPluginExited
// with its exit status and last stderr lines.
func (c *Client) fail(ctx context.Context, op, target string, err error) error {
	e := &Error{Plugin: c.name, Op: op, Target: target}
	if ctx.Err() != nil {
		e.Err = ctx.Err()
		return e
	}
	code := status.Code(err)
	if c.waitExited(code) {
		// Reap stragglers: commands the plugin started die with it.
		c.kill()
		e.Err = fmt.Errorf("%w (%s)%s", ErrPluginExited, c.exitState(), c.stderrSuffix())
		return e
	}
	if st, ok := status.FromError(err); ok {
		e.Err = errors.New(st.Message())
	} else {
		e.Err = err
	}
	return e
}

// waitExited reports whether the plugin process is gone. After a
// connection-level failure the process may still be being reaped, so it
// waits a little for go-plugin to notice.
func (c *Client) waitExited(code codes.Code) bool {
	if c.Exited() {
		return true
	}
	switch code {
	case codes.Unavailable, codes.Canceled, codes.Internal:
	default:
		return false
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if c.Exited() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func (c *Client) exitState() string {
	if c.cmd.ProcessState != nil {
		return c.cmd.ProcessState.String()
	}
	return "no exit status"
}
