package main

import (
	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/environments"
	"github.com/plat-sh/plat/platform/engine"
)

func newExecCommand(a *app) *cobra.Command {
	var sel engine.Selector
	cmd := &cobra.Command{
		Use:   "exec ENV [--host H | --role R] -- CMD...",
		Short: "Run a one-off command in the current release of hosts",
		Example: `  plat exec prod --host web1 -- python3 manage.py shell -c 'print(1)'
  plat exec prod --role db -- ls -l`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{errArgs(cmd, "an environment and a command after --")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine(cmd.Context())
			if err != nil {
				return err
			}
			e.UI = nil
			return e.Exec(cmd.Context(), args[0], sel, args[1:], a.stdout, a.stderr)
		},
	}
	cmd.Flags().StringSliceVar(&sel.Hosts, "host", nil, "run on these `HOSTS` only")
	cmd.Flags().StringVar(&sel.Role, "role", "", "run on hosts with `ROLE` only")
	return cmd
}

func newRunCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "run ENV TASK",
		Short: "Run a task of plat.hcl on demand",
		Long: `run runs a task: build tasks here in the project directory, release and
manual tasks once in the current release of their host (the first host with
the task's role, or the environment's first host).`,
		Example: `  plat run prod migrate`,
		Args:    exactArgs(2, "an environment and a task"),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine(cmd.Context())
			if err != nil {
				return err
			}
			return e.RunTask(cmd.Context(), args[0], args[1], a.stdout, a.stderr)
		},
	}
}

func newLogsCommand(a *app) *cobra.Command {
	var sel engine.Selector
	var follow bool
	var lines int
	cmd := &cobra.Command{
		Use:   "logs ENV [--host H] [-f]",
		Short: "Print the app's process logs",
		Example: `  plat logs local
  plat logs prod --host web1 -f`,
		Args: exactArgs(1, "one environment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine(cmd.Context())
			if err != nil {
				return err
			}
			e.UI = nil
			return e.Logs(cmd.Context(), args[0], sel, lines, follow, a.stdout)
		},
	}
	cmd.Flags().StringSliceVar(&sel.Hosts, "host", nil, "only these `HOSTS`")
	cmd.Flags().StringVar(&sel.Role, "role", "", "only hosts with `ROLE`")
	// -f is follow here (as in tail -f), so the global -f FILE is only
	// --file: a local flag of the same name keeps cobra from merging the
	// global one and its clashing shorthand.
	cmd.Flags().StringVar(&a.file, "file", environments.DefaultFile, "project `FILE`, relative to -C")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().IntVarP(&lines, "lines", "n", 50, "print the last `N` lines")
	return cmd
}
