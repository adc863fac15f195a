package buildpacks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tailLines is how many lines of a failing buildpack's output its error
// carries.
const tailLines = 20

// output passes a build's output through to the user's writer and keeps
// the recent part for error messages. Write errors of the user's writer
// are dropped: a closed UI must not fail a build.
type output struct {
	mu   sync.Mutex
	w    io.Writer
	tail []byte
}

const tailBytes = 16 << 10

func newOutput(w io.Writer) *output {
	if w == nil {
		w = io.Discard
	}
	return &output{w: w}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(p)
	o.tail = append(o.tail, p...)
	if len(o.tail) > 2*tailBytes {
		o.tail = append([]byte(nil), o.tail[len(o.tail)-tailBytes:]...)
	}
	return len(p), nil
}

func (o *output) printf(format string, args ...any) {
	fmt.Fprintf(o, format, args...)
}

// reset forgets the kept output, so a buildpack's error shows only its own.
func (o *output) reset() {
	o.mu.Lock()
	o.tail = nil
	o.mu.Unlock()
}

// lastLines returns the last tailLines lines written since reset.
func (o *output) lastLines() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := bytes.TrimRight(o.tail, "\n")
	if len(t) == 0 {
		return ""
	}
	lines := bytes.Split(t, []byte("\n"))
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// env is an environment under construction; later sets win.
type env map[string]string

func envFrom(list []string) env {
	e := env{}
	for _, kv := range list {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			e[k] = v
		}
	}
	return e
}

func (e env) clone() env {
	c := make(env, len(e))
	for k, v := range e {
		c[k] = v
	}
	return c
}

func (e env) with(kv map[string]string) env {
	c := e.clone()
	for k, v := range kv {
		c[k] = v
	}
	return c
}

func (e env) list() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// command is one program a buildpack runs.
type command struct {
	dir  string
	env  env
	args []string
	// stdout, when set, captures standard output instead of showing it.
	stdout io.Writer
	// label names the program in errors; "" means the whole command line.
	label string
}

// run runs c with its output going to out. The program gets its own
// process group, and cancelling ctx kills the whole group (pip, npm and go
// start children of their own).
func run(ctx context.Context, log *slog.Logger, out *output, c command) error {
	log.Debug("run", "args", c.args, "dir", c.dir)
	cmd := exec.CommandContext(ctx, c.args[0], c.args[1:]...)
	cmd.Dir = c.dir
	cmd.Env = c.env.list()
	cmd.Stdout = out
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	}
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	label := c.label
	if label == "" {
		label = strings.Join(c.args, " ")
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("run %s: %w", label, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", label, err)
	}
	return nil
}
