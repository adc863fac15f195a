package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/engine"
)

// execOptions are plat exec's and plat console's arguments and flags.
type execOptions struct {
	envName     string
	argv        []string
	sel         engine.Selector
	interactive bool
	tty         bool
	// console runs plat console: the app's console command, on one host.
	console bool
	// command is the command's path, for errors ("plat exec").
	command string
}

func newExecCommand(a *app) *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "exec ENV [--host H | --role R] [-i] [-t] -- CMD...",
		Short: "Run a one-off command in the current release of hosts",
		Long: `exec runs CMD in the current release of the selected hosts (all by default),
with the environment the app's processes get and .profile.d sourced.

With -i, plat's standard input is forwarded to the command; with -t, the
command runs on a terminal of plat's terminal's size, which follows resizes,
and plat's terminal is in raw mode until it ends (keys such as ^C and ^D go
to the remote program). -i and -t need one host. The command's exit code is
plat's.`,
		Example: `  plat exec prod --host web1 -- python3 manage.py shell -c 'print(1)'
  plat exec prod --role db -- ls -l
  echo hi | plat exec local --host web1 -i -- cat
  plat exec prod --host web1 -it -- python3 -i`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{errArgs(cmd, "an environment and a command after --")}
			}
			return nil
		},
		Annotations: programOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.envName, o.argv, o.command = args[0], args[1:], cmd.CommandPath()
			return runExec(cmd.Context(), a, o)
		},
	}
	cmd.Flags().StringSliceVar(&o.sel.Hosts, "host", nil, "run on these `HOSTS` only")
	cmd.Flags().StringVar(&o.sel.Role, "role", "", "run on hosts with `ROLE` only")
	cmd.Flags().BoolVarP(&o.interactive, "interactive", "i", false, "forward standard input to the command")
	cmd.Flags().BoolVarP(&o.tty, "tty", "t", false, "run the command on a terminal")
	return cmd
}

// runExec runs plat exec (console: plat console) and makes the remote
// command's exit code plat's.
func runExec(ctx context.Context, a *app, o execOptions) error {
	if a.json && (o.interactive || o.tty) {
		return usageError{fmt.Errorf("%s --json: -i and -t pass a terminal or standard input through, which has no JSON form", o.command)}
	}
	e, err := a.outputEngine(ctx)
	if err != nil {
		return err
	}
	if !a.json {
		e.UI = nil
	}
	opts := engine.ExecOptions{Selector: o.sel, Argv: o.argv, Stdout: a.stdout, Stderr: a.stderr}
	if o.interactive || o.tty {
		opts.Stdin = a.stdin
	}
	if o.tty {
		t, err := a.openTerminal()
		if err != nil {
			return err
		}
		if t == nil {
			// As ssh -t does: the command still runs, reading stdin.
			fmt.Fprintln(a.stderr, "plat: standard input is not a terminal: running the command without one")
		} else {
			defer t.restore()
			opts.TTY = t.tty
		}
	}
	if o.console {
		err = e.Console(ctx, o.envName, opts)
	} else {
		err = e.ExecWith(ctx, o.envName, opts)
	}
	// The remote program reported its own failure: plat exits as it did.
	var de *engine.DeployError
	if code := platform.ExitCode(err); code > 0 && !errors.As(err, &de) {
		a.failJSON(err.Error(), code)
		a.exitCode = code
		return nil
	}
	if err == nil {
		a.result(execResult{Environment: o.envName, Command: o.argv})
	}
	return err
}

type runOptions struct {
	envName, task string
}

func newRunCommand(a *app) *cobra.Command {
	var opts runOptions
	return &cobra.Command{
		Use:   "run ENV TASK",
		Short: "Run a task of plat.hcl on demand",
		Long: `run runs a task: build tasks here in the project directory, release and
manual tasks once in the current release of their host (the first host with
the task's role, or the environment's first host).`,
		Example:     `  plat run prod migrate`,
		Args:        exactArgs(2, "an environment and a task"),
		Annotations: programOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.envName, opts.task = args[0], args[1]
			return runRun(cmd.Context(), a, opts)
		},
	}
}

func runRun(ctx context.Context, a *app, opts runOptions) error {
	e, err := a.outputEngine(ctx)
	if err != nil {
		return err
	}
	if err := e.RunTask(ctx, opts.envName, opts.task, a.stdout, a.stderr); err != nil {
		return err
	}
	a.result(runResult{Environment: opts.envName, Task: opts.task})
	return nil
}

type logsOptions struct {
	envName string
	sel     engine.Selector
	follow  bool
	lines   int
}

func newLogsCommand(a *app) *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs ENV [--host H] [-f]",
		Short: "Print the app's process logs",
		Long: `logs prints the last lines of the app's process logs on the selected
hosts, each line prefixed with its host; -f (--follow) keeps printing new
lines until interrupted. After logs, -f is --follow (as in tail -f and
kubectl logs -f): give the project file before the command name
(plat -f alt.hcl logs prod -f) or as --file.`,
		Example: `  plat logs local
  plat logs prod --host web1 -f
  plat -f alt.hcl logs prod`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 && strings.HasSuffix(args[0]+args[1], ".hcl") {
				return usageError{fmt.Errorf("%s takes one environment (got %q and %q); after logs, -f is --follow: give the file before the command name (plat -f FILE logs ENV) or as --file FILE", cmd.CommandPath(), args[0], args[1])}
			}
			return exactArgs(1, "one environment")(cmd, args)
		},
		Annotations: programOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.envName = args[0]
			return runLogs(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().StringSliceVar(&opts.sel.Hosts, "host", nil, "only these `HOSTS`")
	cmd.Flags().StringVar(&opts.sel.Role, "role", "", "only hosts with `ROLE`")
	// -f is follow here (as in tail -f), so after logs the global -f FILE
	// is only --file: a local flag of the same name keeps cobra from
	// merging the global one and its clashing shorthand. Before the
	// command name, -f is the global flag (TraverseChildren).
	cmd.Flags().StringVar(&a.file, "file", "", "project `FILE`, relative to -C (before logs: -f FILE)")
	cmd.Flags().BoolVarP(&opts.follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().IntVarP(&opts.lines, "lines", "n", 50, "print the last `N` lines")
	return cmd
}

func runLogs(ctx context.Context, a *app, opts logsOptions) error {
	e, err := a.outputEngine(ctx)
	if err != nil {
		return err
	}
	if !a.json {
		e.UI = nil
	}
	if err := e.Logs(ctx, opts.envName, opts.sel, opts.lines, opts.follow, a.stdout); err != nil {
		return err
	}
	a.result(logsResult{Environment: opts.envName})
	return nil
}
