package plugins

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins/internal/wire"
	pluginv1 "github.com/plat-sh/plat/plugins/proto"
)

// ProtocolVersion is the plugin protocol this plat speaks.
const ProtocolVersion = wire.ProtocolVersion

// BinaryPrefix starts every provider plugin's file name.
const BinaryPrefix = "plat-provider-"

// Options tune Open. The zero value is usable.
type Options struct {
	// Logger receives the plugin's log lines and stderr at debug level;
	// nil discards them (the tail of stderr still appears in crash errors).
	Logger *slog.Logger
	// LockFile, when set, makes Open refuse a binary that is not recorded
	// in it or whose checksum changed (see Verify).
	LockFile string
	// HostVersion is plat's version, told to the plugin.
	HostVersion string
	// StartTimeout bounds the handshake; 0 means 30s.
	StartTimeout time.Duration
}

// Client is one running plugin process. It is safe for concurrent use.
type Client struct {
	name     string
	path     string
	version  string
	schema   platform.Schema
	pc       *plugin.Client
	cmd      *exec.Cmd
	rpc      pluginv1.ProviderClient
	stderr   *tailBuffer
	life     context.Context
	stop     context.CancelFunc
	closeMu  sync.Once
	killedMu sync.Mutex
	// inproc stops an in-process server (InProcess); nil for a process.
	inproc func()
}

// NameOf returns the provider name of a plugin binary path:
// /x/plat-provider-dirs -> dirs.
func NameOf(path string) string {
	return strings.TrimPrefix(filepath.Base(path), BinaryPrefix)
}

// Open starts the plugin at path, completes the handshake and reads its
// schema. The caller must Close the client. Errors name the plugin and say
// what went wrong: a plugin that writes to stdout before the handshake, one
// that speaks another protocol version (*ProtocolError), one that exits.
func Open(ctx context.Context, path string, opts Options) (*Client, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open plugin %s: %w", path, err)
	}
	name := NameOf(abs)
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("open plugin %s: %w", name, err)
	} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("open plugin %s: %s is not an executable file", name, abs)
	}
	if opts.LockFile != "" {
		if err := Verify(opts.LockFile, abs); err != nil {
			return nil, err
		}
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	c := &Client{name: name, path: abs, stderr: newTailBuffer(4 << 10)}
	c.life, c.stop = context.WithCancel(context.WithoutCancel(ctx))

	c.cmd = exec.Command(abs)
	c.cmd.SysProcAttr = childAttr()
	c.pc = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake(wire.ProtocolVersion),
		VersionedPlugins: wire.PluginSets(wire.ProtocolVersion, &wire.GRPCPlugin{}),
		Cmd:              c.cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     opts.StartTimeout,
		Stderr:           c.stderr,
		// What the plugin writes to os.Stdout and os.Stderr after the
		// handshake arrives through go-plugin's stdio stream.
		SyncStderr: io.MultiWriter(c.stderr, logWriter(opts.Logger, name, "stderr")),
		SyncStdout: logWriter(opts.Logger, name, "stdout"),
		Logger:     hcLogger(opts.Logger, name),
	})

	type started struct {
		rpc plugin.ClientProtocol
		err error
	}
	done := make(chan started, 1)
	go func() {
		rpc, err := c.pc.Client()
		done <- started{rpc, err}
	}()
	var st started
	select {
	case st = <-done:
	case <-ctx.Done():
		c.kill()
		<-done
		c.stop()
		return nil, fmt.Errorf("start plugin %s: %w", name, ctx.Err())
	}
	if st.err != nil {
		c.kill()
		c.stop()
		return nil, c.handshakeError(st.err)
	}
	raw, err := st.rpc.Dispense(wire.PluginName)
	if err != nil {
		c.kill()
		c.stop()
		return nil, fmt.Errorf("start plugin %s (%s): %w", name, abs, err)
	}
	c.rpc = raw.(pluginv1.ProviderClient)
	resp, err := c.rpc.GetSchema(ctx, &pluginv1.GetSchemaRequest{HostVersion: opts.HostVersion})
	if err != nil {
		err = c.fail(ctx, "get schema", "", err)
		c.Close()
		return nil, err
	}
	c.schema = wire.SchemaFromProto(resp.GetSchema())
	c.version = resp.GetVersion()
	return c, nil
}

// Name is the provider name (the binary name without plat-provider-).
func (c *Client) Name() string { return c.name }

// Path is the plugin binary's absolute path.
func (c *Client) Path() string { return c.path }

// Version is what the plugin reports as its version ("" if unknown).
func (c *Client) Version() string { return c.version }

// Protocol is the negotiated protocol version.
func (c *Client) Protocol() int {
	if c.pc == nil {
		return ProtocolVersion
	}
	return c.pc.NegotiatedVersion()
}

// Pid is the plugin process id (for diagnostics and tests).
func (c *Client) Pid() int {
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Exited reports whether the plugin process has exited.
func (c *Client) Exited() bool { return c.pc != nil && c.pc.Exited() }

// Factory returns the plugin as a provider factory. Providers it creates
// live as long as the client.
func (c *Client) Factory() platform.ProviderFactory { return &remoteFactory{c: c} }

// Close stops the plugin: go-plugin asks it to exit and kills it after a
// grace period; then anything left in its process group is killed. Targets'
// transports stop working. Close is idempotent and always returns nil.
func (c *Client) Close() error {
	c.closeMu.Do(func() {
		c.stop()
		c.kill()
	})
	return nil
}

// kill ends the plugin process and its process group.
func (c *Client) kill() {
	c.killedMu.Lock()
	defer c.killedMu.Unlock()
	if c.inproc != nil {
		c.inproc()
		return
	}
	c.pc.Kill()
	if c.cmd.Process != nil {
		// The group has the plugin's pid as its id (Setpgid): this reaps
		// commands the plugin started and left behind.
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// hcLogger adapts an slog logger for go-plugin: one debug record per line.
func hcLogger(l *slog.Logger, name string) hclog.Logger {
	if l == nil {
		return hclog.NewNullLogger()
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:   "plugin",
		Level:  hclog.Debug,
		Output: &slogWriter{l: l.With("plugin", name)},
	})
}

// logWriter logs each line written to it at debug level; nil l discards.
func logWriter(l *slog.Logger, name, stream string) io.Writer {
	if l == nil {
		return io.Discard
	}
	return &slogWriter{l: l.With("plugin", name, "stream", stream)}
}

type slogWriter struct{ l *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.l.Debug(line)
	}
	return len(p), nil
}

// tailBuffer keeps the last bytes written to it, and the first panic or
// fatal error line (go-plugin writes stderr to it line by line).
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	panic string
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.panic == "" {
		if l := string(p); strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			t.panic = strings.TrimSpace(l)
		}
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// panicLine returns the first panic or fatal error line, or "".
func (t *tailBuffer) panicLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.panic
}

// lastLines returns up to n non-empty last lines.
func (t *tailBuffer) lastLines(n int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, l := range strings.Split(string(t.buf), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}
