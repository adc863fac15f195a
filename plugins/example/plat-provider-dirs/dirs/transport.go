package dirs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/plat-sh/plat/platform"
)

// localTransport runs commands on this machine, by default in the host's
// directory.
type localTransport struct{ dir string }

func (t *localTransport) Run(ctx context.Context, cmd *platform.Command) error {
	if len(cmd.Args) == 0 {
		return errors.New("run: empty command")
	}
	c := exec.CommandContext(ctx, cmd.Args[0], cmd.Args[1:]...)
	c.Dir = cmd.Dir
	if c.Dir == "" {
		c.Dir = t.dir
	}
	c.Env = append(os.Environ(), envList(cmd.Env)...)
	return runCmd(ctx, c, cmd)
}

// DialContext connects from this machine, where the directories are.
func (t *localTransport) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (t *localTransport) Close() error { return nil }

// sshTransport runs commands on the via machine through the ssh binary.
type sshTransport struct {
	dir  string
	via  string
	opts []string
}

func (t *sshTransport) Run(ctx context.Context, cmd *platform.Command) error {
	if len(cmd.Args) == 0 {
		return errors.New("run: empty command")
	}
	argv := SSHArgv(t.via, t.opts, t.dir, cmd)
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	err := runCmd(ctx, c, cmd)
	// ssh exits 255 when it could not connect (or the remote command did).
	if platform.ExitCode(err) == 255 {
		return fmt.Errorf("ssh %s: connection failed or remote exit 255: %w", t.via, err)
	}
	return err
}

func (t *sshTransport) Close() error { return nil }

// SSHArgv builds the ssh command line for cmd on via: the remote shell gets
// one string in which every word is single-quoted.
func SSHArgv(via string, opts []string, defDir string, cmd *platform.Command) []string {
	dir := cmd.Dir
	if dir == "" {
		dir = defDir
	}
	remote := "cd " + Quote(dir) + " && exec"
	if env := envList(cmd.Env); len(env) > 0 {
		remote += " env"
		for _, kv := range env {
			remote += " " + Quote(kv)
		}
	}
	for _, a := range cmd.Args {
		remote += " " + Quote(a)
	}
	argv := []string{"ssh", "-o", "BatchMode=yes"}
	argv = append(argv, opts...)
	return append(argv, "--", via, remote)
}

// Quote single-quotes s for a POSIX shell.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// runCmd runs c with cmd's streams. The command gets its own process group
// (killed as a whole on cancel) and dies with the plugin.
func runCmd(ctx context.Context, c *exec.Cmd, cmd *platform.Command) error {
	c.Stdin, c.Stdout, c.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	c.SysProcAttr = procAttr()
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 5 * time.Second
	err := c.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("run %s: %w", cmd.Args[0], ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
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

var (
	_ platform.Transport = (*localTransport)(nil)
	_ platform.Dialer    = (*localTransport)(nil)
	_ platform.Transport = (*sshTransport)(nil)
)
