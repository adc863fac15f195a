package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/engine"
)

// lifecycleCommand describes one of plat start, stop and restart.
type lifecycleCommand struct {
	name, short, long, example string
	run                        func(e *engine.Engine, ctx context.Context, env string, o engine.LifecycleOptions) error
	done                       string
}

// lifecycleOptions are the arguments and flags of start, stop and restart.
type lifecycleOptions struct {
	envName string
	engine.LifecycleOptions
}

func newLifecycleCommand(a *app, lc lifecycleCommand) *cobra.Command {
	var opts lifecycleOptions
	o := &opts.LifecycleOptions
	cmd := &cobra.Command{
		Use:         lc.name + " ENV [--host H | --role R] [TYPE...]",
		Short:       lc.short,
		Long:        lc.long,
		Example:     lc.example,
		Annotations: eventsOutput,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usageError{errArgs(cmd, "an environment, then process types (none: all)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.envName, opts.Types = args[0], args[1:]
			return runLifecycle(cmd.Context(), a, lc, opts)
		},
	}
	cmd.Flags().StringSliceVar(&o.Hosts, "host", nil, "only these `HOSTS`")
	cmd.Flags().StringVar(&o.Role, "role", "", "only hosts with `ROLE`")
	cmd.Flags().DurationVar(&o.LockWait, "lock-wait", 0, "wait up to `DURATION` for the deploy lock instead of failing")
	if lc.name == "restart" {
		cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "answer yes to rollout confirmations")
	}
	return cmd
}

func runLifecycle(ctx context.Context, a *app, lc lifecycleCommand, opts lifecycleOptions) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	if err := lc.run(e, ctx, opts.envName, opts.LifecycleOptions); err != nil {
		return err
	}
	if a.json {
		a.result(lifecycleResult{Environment: opts.envName, Action: lc.done, Types: list(opts.Types)})
		return nil
	}
	what := "the processes"
	if len(opts.Types) > 0 {
		what = strings.Join(opts.Types, ", ")
	}
	fmt.Fprintf(a.stdout, "%s %s of %s; plat ps %s shows them\n", lc.done, what, opts.envName, opts.envName)
	return nil
}

func newStartCommand(a *app) *cobra.Command {
	return newLifecycleCommand(a, lifecycleCommand{
		name:  "start",
		short: "Start the current release's processes that are not running",
		long: `start starts the process types of the current release (all, or the TYPEs
given) that do not run on the selected hosts, under the deploy lock, with
the environment a push gives them; a host where web starts must pass the
health check. Running processes are left alone.`,
		example: `  plat start prod
  plat start prod --host web2 worker`,
		run:  (*engine.Engine).Start,
		done: "started",
	})
}

func newStopCommand(a *app) *cobra.Command {
	return newLifecycleCommand(a, lifecycleCommand{
		name:  "stop",
		short: "Stop the app's processes (they stay stopped until start, push or up)",
		long: `stop stops the process types of the current release (all, or the TYPEs
given) on the selected hosts: TERM, the rollout's drain_timeout, then KILL
(or systemctl --user stop). Machines keep running; plat start or plat push
starts the processes again.`,
		example: `  plat stop prod
  plat stop prod --role web worker`,
		run:  (*engine.Engine).Stop,
		done: "stopped",
	})
}

func newRestartCommand(a *app) *cobra.Command {
	return newLifecycleCommand(a, lifecycleCommand{
		name:  "restart",
		short: "Restart the current release's processes, stage by stage, health-gated",
		long: `restart restarts the current release's processes as a push switches hosts,
without a new release: stage by stage (rollout.stages, pause, max_parallel),
each host restarted (the app's restart command, plat's stop-start or
overlap restart, or systemd's) and health-checked before the next stage.
When more hosts fail than max_failures tolerates, the restart stops there
and the hosts of later stages keep their running processes. TYPEs restart
only those process types (stop, then start).`,
		example: `  plat restart prod
  plat restart prod --host web1 worker`,
		run:  (*engine.Engine).Restart,
		done: "restarted",
	})
}
