// Package local is the zero-install provider: every host of an environment
// is a directory under .plat/local/<env>/<host> on this machine, with the
// same on-host layout and the same recipe as a server, and its processes
// run here with one PORT per host.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/creack/pty"

	"github.com/plat-sh/plat/platform"
)

// DefaultBasePort is the first host's PORT unless base_port says otherwise.
const DefaultBasePort = 8100

// Factory makes local providers.
type Factory struct{}

// Schema describes provider "local".
func (Factory) Schema() platform.Schema {
	return platform.Schema{Attributes: []platform.Attribute{
		{Name: "base_port", Type: platform.TypeNumber, Description: "PORT of the first host; the next hosts count up from it (default 8100)"},
		{Name: "root", Type: platform.TypeString, Description: "directory holding the hosts (default .plat/local/<env>)"},
	}, Hosts: &platform.HostDefaults{PortBase: "base_port", PortBaseDefault: DefaultBasePort, OwnDeployTo: true}}
}

// New configures a local provider.
func (Factory) New(cfg platform.ProviderConfig) (platform.Provider, error) {
	cfg.Type = "local"
	base, err := cfg.WholeNumber("base_port", DefaultBasePort, 1, 65000)
	if err != nil {
		return nil, err
	}
	return &Provider{BasePort: base, Root: cfg.String("root", "")}, nil
}

// Provider is the local provider.
type Provider struct {
	BasePort int
	Root     string
}

// HostDir is where a host of env lives.
func (p *Provider) HostDir(stateDir, env, host string) string {
	root := p.Root
	if root == "" {
		root = filepath.Join(stateDir, "local", env)
	} else if !filepath.IsAbs(root) {
		root = filepath.Join(filepath.Dir(stateDir), root)
	}
	return filepath.Join(root, host)
}

// Targets returns one directory per host; it creates them (they are the
// machines, and cost nothing). A host's directory is its deploy_to, and
// its port the resolved one (platform.ResolveHosts counts up from
// base_port).
func (p *Provider) Targets(ctx context.Context, req *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	hosts, err := platform.SelectHosts(req.Env, req.Hosts, "")
	if err != nil {
		return nil, err
	}
	var out []*platform.Target
	for _, h := range hosts {
		dir := p.HostDir(req.StateDir, req.Env.Name, h.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("host %s: create %s: %w", h.Name, dir, err)
		}
		if h.Port == 0 {
			return nil, fmt.Errorf("host %s: no port (the environment's hosts are not resolved: platform.ResolveHosts)", h.Name)
		}
		t := platform.NewTarget(h)
		t.Address = "127.0.0.1"
		t.DeployTo = dir
		t.PublicURL = fmt.Sprintf("http://127.0.0.1:%d", t.Port)
		t.Transport = &Transport{Dir: dir}
		out = append(out, t)
	}
	return &platform.TargetsResponse{Targets: out}, nil
}

// Transport runs commands on this machine. Dir is the default working
// directory.
type Transport struct {
	Dir string
}

// Run runs cmd as a child process in its own process group, so that
// cancelling kills the whole command (not the processes it detached with
// setsid, which are the app's).
func (t *Transport) Run(ctx context.Context, cmd *platform.Command) error {
	if len(cmd.Args) == 0 {
		return errors.New("run: empty command")
	}
	c := exec.CommandContext(ctx, cmd.Args[0], cmd.Args[1:]...)
	c.Dir = cmd.Dir
	if c.Dir == "" {
		c.Dir = t.Dir
	}
	c.Env = os.Environ()
	for k, v := range cmd.Env {
		c.Env = append(c.Env, k+"="+v)
	}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 5 * time.Second
	var err error
	if cmd.TTY != nil {
		err = runTTY(c, cmd)
	} else {
		c.Stdin, c.Stdout, c.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err = c.Run()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("run %s: %w", cmd.Args[0], ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		// Killed by a signal: the code a shell reports, 128+n.
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return &platform.ExitError{Code: code}
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", cmd.Args[0], err)
	}
	return nil
}

// runTTY runs c on a new pseudo-terminal (its controlling terminal, in a
// session of its own, so the process group the cancel kills is its own):
// Stdin is copied in, the terminal's output out to Stdout, and window
// sizes from Resize applied until the command ends.
func runTTY(c *exec.Cmd, cmd *platform.Command) error {
	c.Env = append(c.Env, "TERM="+cmd.TTY.TermName())
	ptmx, err := pty.StartWithSize(c, &pty.Winsize{Rows: cmd.TTY.Rows, Cols: cmd.TTY.Cols})
	if err != nil {
		return err
	}
	defer ptmx.Close()
	defer cmd.TTY.FollowResize(func(ws platform.WindowSize) {
		_ = pty.Setsize(ptmx, &pty.Winsize{Rows: ws.Rows, Cols: ws.Cols})
	})()
	if cmd.Stdin != nil {
		// Ends with the terminal (a write error) or the input (EOF). The
		// terminal turns the user's ^D into EOF for the program itself.
		go func() { _, _ = io.Copy(ptmx, cmd.Stdin) }()
	}
	out := cmd.Stdout
	if out == nil {
		out = io.Discard
	}
	copied := make(chan struct{})
	go func() {
		// Reading the master fails with EIO once the program and every
		// process holding the terminal have gone: the end of its output.
		_, _ = io.Copy(out, ptmx)
		close(copied)
	}()
	err = c.Wait()
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
		// A background child still holds the terminal open.
	}
	return err
}

// DialContext connects from this machine.
func (t *Transport) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Close does nothing: there is no connection.
func (t *Transport) Close() error { return nil }

var (
	_ platform.ProviderFactory = Factory{}
	_ platform.Provider        = (*Provider)(nil)
	_ platform.Transport       = (*Transport)(nil)
	_ platform.Dialer          = (*Transport)(nil)
)
