package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/platform/suggest"
)

// Selector picks hosts of an environment.
type Selector struct {
	Hosts []string
	Role  string
}

func (e *Engine) selected(ctx context.Context, envName string, sel Selector) (*platform.Environment, []*platform.Target, func(), error) {
	env, prov, err := e.environment(envName)
	if err != nil {
		return nil, nil, nil, err
	}
	return e.selectedIn(ctx, env, prov, sel)
}

func (e *Engine) selectedIn(ctx context.Context, env *platform.Environment, prov platform.Provider, sel Selector) (*platform.Environment, []*platform.Target, func(), error) {
	ts, closeAll, err := e.selectTargets(ctx, env, prov, sel)
	if err != nil {
		return nil, nil, nil, err
	}
	return env, ts, closeAll, nil
}

// Exec runs argv in the current release on the selected hosts, with the
// processes' environment; output lines are prefixed by host when more
// than one host runs. It returns the hosts whose command failed.
func (e *Engine) Exec(ctx context.Context, envName string, sel Selector, argv []string, stdout, stderr io.Writer) error {
	return e.ExecWith(ctx, envName, ExecOptions{Selector: sel, Argv: argv, Stdout: stdout, Stderr: stderr})
}

// ExecOptions is one `plat exec` or `plat console`.
type ExecOptions struct {
	Selector
	Argv []string
	// Stdin, when set, is forwarded to the command; it needs one host.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY runs the command on a terminal (one host only; its output all
	// goes to Stdout).
	TTY *platform.TTY
	// First picks the first selected host instead of refusing several
	// for an interactive command (plat console).
	First bool
}

// ExecWith runs opts.Argv in the current release on the selected hosts,
// with the processes' environment and .profile.d sourced. A command that
// reads stdin or runs on a terminal runs on exactly one host. On one host,
// the error of a command that ran and failed wraps its
// *platform.ExitError, so the caller can return its exit code; on several,
// it is a *DeployError naming the hosts whose command failed.
func (e *Engine) ExecWith(ctx context.Context, envName string, opts ExecOptions) error {
	if len(opts.Argv) == 0 {
		return fmt.Errorf("%w: exec needs a command", ErrConfig)
	}
	env, prov, err := e.environment(envName)
	if err != nil {
		return err
	}
	if s, ok := schedulerOf(prov); ok {
		return e.execScheduled(ctx, env, s, opts)
	}
	env, ts, closeAll, err := e.selectedIn(ctx, env, prov, opts.Selector)
	if err != nil {
		return err
	}
	defer closeAll()
	interactive := opts.Stdin != nil || opts.TTY != nil
	if interactive && len(ts) > 1 {
		if !opts.First {
			return fmt.Errorf("%w: an interactive command (-i or -t) runs on one host, and %d are selected (%s)\nhint: pick one with --host", ErrConfig, len(ts), strings.Join(names(ts), ", "))
		}
		ts = ts[:1]
	}
	if len(ts) == 1 && !e.OutputEvents {
		t := ts[0]
		cmd := hostcmd.InRelease(t.DeployTo, "", opts.Argv)
		cmd.Env = e.baseEnv(ctx, env, t)
		cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.TTY = opts.Stdin, opts.Stdout, opts.Stderr, opts.TTY
		if err := t.Transport.Run(ctx, cmd); err != nil {
			if errors.Is(err, platform.ErrNoTTY) {
				return fmt.Errorf("%w: host %s: %w", ErrConfig, t.Name, err)
			}
			return fmt.Errorf("host %s: %s: %w", t.Name, opts.Argv[0], err)
		}
		return nil
	}
	if interactive && e.OutputEvents {
		return fmt.Errorf("%w: an interactive command (-i or -t) has no JSON output", ErrConfig)
	}
	errs := e.forEach(ctx, ts, 0, func(ctx context.Context, t *platform.Target) error {
		cmd := hostcmd.InRelease(t.DeployTo, "", opts.Argv)
		cmd.Env = e.baseEnv(ctx, env, t)
		return e.runOutput(ctx, t, "exec", strings.Join(opts.Argv, " "), cmd, opts.Stdout, opts.Stderr)
	})
	if len(ts) == 1 && errs[ts[0].Name] != nil {
		// As without events: the one host's error, with its exit code.
		return fmt.Errorf("host %s: %s: %w", ts[0].Name, opts.Argv[0], errs[ts[0].Name])
	}
	if len(errs) > 0 {
		return &DeployError{Op: "exec " + strings.Join(opts.Argv, " "), Hosts: errs}
	}
	return nil
}

// Console runs the app's console command (plat.hcl's console), or an
// interactive shell, in the current release of one host: opts.Hosts[0],
// or the first host with opts.Role, or the environment's first host.
func (e *Engine) Console(ctx context.Context, envName string, opts ExecOptions) error {
	opts.Argv = e.Project.App.Console
	if len(opts.Argv) == 0 {
		opts.Argv = hostcmd.Shell()
	}
	opts.First = true
	return e.ExecWith(ctx, envName, opts)
}

// RunTask runs a named task on demand: build tasks on this machine (in the
// project directory), others once in the current release of its host.
func (e *Engine) RunTask(ctx context.Context, envName, name string, stdout, stderr io.Writer) error {
	task := e.Project.App.Task(name)
	if task == nil {
		var names []string
		for _, t := range e.Project.App.Tasks {
			names = append(names, t.Name)
		}
		return fmt.Errorf("%w: unknown task %q%s (defined: %s)", ErrConfig, name, suggest.Hint(name, names), strings.Join(names, ", "))
	}
	env, prov, err := e.environment(envName)
	if err != nil {
		return err
	}
	if s, ok := schedulerOf(prov); ok && task.When != platform.PhaseBuild {
		return e.step(engineHost, "task "+name, strings.Join(task.Run, " "), func() error {
			tctx, cancel := withTimeout(ctx, task.Timeout)
			defer cancel()
			return e.execScheduled(tctx, env, s, ExecOptions{Selector: Selector{Role: task.Role}, Argv: task.Run, Stdout: stdout, Stderr: stderr})
		})
	}
	env, ts, closeAll, err := e.selectedIn(ctx, env, prov, Selector{})
	if err != nil {
		return err
	}
	defer closeAll()
	if task.When == platform.PhaseBuild {
		if e.OutputEvents {
			o, _, flush := e.outputEvents("localhost")
			defer flush()
			stdout = o
		}
		return runLocal(ctx, e.Project.Dir, []string{"PLAT_ENV=" + env.Name}, task.Run, stdout)
	}
	t := pickHost(ts, task.Role)
	if t == nil {
		return fmt.Errorf("%w: task %s: no host has role %q", ErrConfig, name, task.Role)
	}
	return e.step(t.Name, "task "+name, strings.Join(task.Run, " "), func() error {
		tctx, cancel := withTimeout(ctx, task.Timeout)
		defer cancel()
		cmd := hostcmd.InRelease(t.DeployTo, "", task.Run)
		cmd.Env = e.baseEnv(ctx, env, t)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if e.OutputEvents {
			o, er, flush := e.outputEvents(t.Name)
			defer flush()
			cmd.Stdout, cmd.Stderr = o, er
		}
		return t.Transport.Run(tctx, cmd)
	})
}

// baseEnv is the processes' environment on t for one-off commands: the
// same variables a push gives the processes of the current release.
func (e *Engine) baseEnv(ctx context.Context, env *platform.Environment, t *platform.Target) map[string]string {
	m := mergeEnv(e.Project.App.Environ, env.Environ)
	if out, err := run(ctx, t, &platform.Command{Args: []string{"readlink", t.DeployTo + "/current"}}); err == nil {
		if id := strings.TrimPrefix(strings.TrimSpace(out), "releases/"); id != "" {
			m["PLAT_RELEASE"] = id
		}
	}
	m["PORT"] = fmt.Sprint(t.Port)
	m["PLAT_ENV"] = env.Name
	m["PLAT_HOST"] = t.Name
	m["PLAT_DEPLOY_TO"] = t.DeployTo
	return m
}

// Logs prints (or follows) the app's process logs of the selected hosts.
func (e *Engine) Logs(ctx context.Context, envName string, sel Selector, lines int, follow bool, w io.Writer) error {
	env, prov, err := e.environment(envName)
	if err != nil {
		return err
	}
	if s, ok := schedulerOf(prov); ok {
		return e.logsScheduled(ctx, env, s, sel, lines, follow, w)
	}
	_, ts, closeAll, err := e.selectedIn(ctx, env, prov, sel)
	if err != nil {
		return err
	}
	defer closeAll()
	errs := e.forEach(ctx, ts, 0, func(ctx context.Context, t *platform.Target) error {
		cmd := hostcmd.Logs(t.DeployTo, lines, follow)
		var flush func()
		if e.OutputEvents {
			cmd.Stdout, cmd.Stderr, flush = e.outputEvents(t.Name)
		} else {
			o, er := prefixed(w, t.Name), prefixed(w, t.Name)
			cmd.Stdout, cmd.Stderr, flush = o, er, func() { o.Flush(); er.Flush() }
		}
		err := t.Transport.Run(ctx, cmd)
		flush()
		if follow && ctx.Err() != nil {
			return nil
		}
		return err
	})
	if len(errs) > 0 {
		return &DeployError{Op: "logs", Hosts: errs}
	}
	return nil
}

// Up creates and starts the environment's machines (providers that
// provision them).
func (e *Engine) Up(ctx context.Context, envName string) ([]platform.MachineStatus, error) {
	env, prov, err := e.environment(envName)
	if err != nil {
		return nil, err
	}
	pv, ok := prov.(platform.Provisioner)
	if !ok {
		return nil, fmt.Errorf("%w: provider %s of %s has no machines to bring up", ErrConfig, env.Provider.Type, envName)
	}
	start := e.startStep("localhost", "up", fmt.Sprintf("%d machines (%s)", len(env.Hosts()), env.Provider.Type))
	resp, err := pv.Up(ctx, &platform.UpRequest{App: e.Project.App, Env: env, StateDir: e.StateDir, Progress: e.progressFn()})
	e.endStep("localhost", "up", start, err)
	if err != nil {
		return nil, err
	}
	if _, ok := schedulerOf(prov); ok {
		return resp.Machines, nil // the engine restarts its own services
	}
	if err := e.startCurrent(ctx, env, prov); err != nil {
		return resp.Machines, err
	}
	return resp.Machines, nil
}

// startCurrent starts the current release's Procfile processes that do
// not run: a machine that was stopped (plat down, a restart) lost them,
// and `plat up` brings the environment back as it was, health checked.
// Apps with their own restart command manage their processes.
func (e *Engine) startCurrent(ctx context.Context, env *platform.Environment, prov platform.Provider) error {
	ts, closeAll, err := e.targets(ctx, env, prov, nil)
	if err != nil {
		return err
	}
	defer closeAll()
	if err := e.checkOwner(ctx, ts); err != nil {
		return err
	}
	_, err = e.startDown(ctx, env, ts, "")
	return err
}

func (e *Engine) progressFn() func(host, line string) {
	return func(host, line string) {
		e.emit(platform.Event{Type: platform.EventLog, Host: host, Message: line})
	}
}

// Down stops the app's processes on every host, then the machines when
// the provider has them (removing them with destroy).
func (e *Engine) Down(ctx context.Context, envName string, destroy bool) ([]platform.MachineStatus, error) {
	env, prov, err := e.environment(envName)
	if err != nil {
		return nil, err
	}
	pv, provisions := prov.(platform.Provisioner)
	if _, ok := schedulerOf(prov); ok && provisions {
		return e.downMachines(ctx, env, pv, destroy) // the engine stops its own services
	}
	ts, closeAll, terr := e.targets(ctx, env, prov, nil)
	if terr == nil {
		defer closeAll()
		if err := e.checkOwner(ctx, ts); err != nil {
			return nil, err
		}
		errs := e.forEach(ctx, ts, 0, func(ctx context.Context, t *platform.Target) error {
			return e.step(t.Name, "stop", "processes", func() error {
				return e.stopHost(ctx, env, t, nil)
			})
		})
		if len(errs) > 0 && !provisions {
			return nil, &DeployError{Op: "stop processes", Hosts: errs}
		}
	} else if !provisions {
		return nil, terr
	}
	if !provisions {
		return nil, nil
	}
	return e.downMachines(ctx, env, pv, destroy)
}

func (e *Engine) downMachines(ctx context.Context, env *platform.Environment, pv platform.Provisioner, destroy bool) ([]platform.MachineStatus, error) {
	start := e.startStep("localhost", "down", env.Provider.Type)
	resp, err := pv.Down(ctx, &platform.DownRequest{App: e.Project.App, Env: env, StateDir: e.StateDir, Destroy: destroy, Progress: e.progressFn()})
	e.endStep("localhost", "down", start, err)
	if err != nil {
		return nil, err
	}
	return resp.Machines, nil
}

// prefixed prefixes each line written to w with "[host] ".
func prefixed(w io.Writer, host string) *lineWriter {
	return &lineWriter{fn: func(l string) { fmt.Fprintf(w, "[%s] %s\n", host, l) }}
}

// outputEvents are writers that turn each line a command prints on host
// into an output event (masked as every event is); flush hands on a last
// line without a newline.
func (e *Engine) outputEvents(host string) (stdout, stderr io.Writer, flush func()) {
	line := func(stream string) *lineWriter {
		return &lineWriter{fn: func(l string) {
			e.emit(platform.Event{Type: platform.EventOutput, Host: host, Stream: stream, Message: l})
		}}
	}
	o, er := line("stdout"), line("stderr")
	return o, er, func() { o.Flush(); er.Flush() }
}

// runOutput runs cmd on t with its output prefixed by host on stdout and
// stderr, or, with OutputEvents, as a step of output events whose end
// carries the command's exit code.
func (e *Engine) runOutput(ctx context.Context, t *platform.Target, step, msg string, cmd *platform.Command, stdout, stderr io.Writer) error {
	if !e.OutputEvents {
		o, er := prefixed(stdout, t.Name), prefixed(stderr, t.Name)
		cmd.Stdout, cmd.Stderr = o, er
		err := t.Transport.Run(ctx, cmd)
		o.Flush()
		er.Flush()
		return err
	}
	o, er, flush := e.outputEvents(t.Name)
	cmd.Stdout, cmd.Stderr = o, er
	start := e.startStep(t.Name, step, msg)
	err := t.Transport.Run(ctx, cmd)
	flush()
	e.endStep(t.Name, step, start, err)
	return err
}
