package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/engine"
)

type rollbackOptions struct {
	envName  string
	release  string
	lockWait time.Duration
}

func newRollbackCommand(a *app) *cobra.Command {
	var opts rollbackOptions
	cmd := &cobra.Command{
		Use:   "rollback ENV [RELEASE]",
		Short: "Switch every host back to an earlier release, without rebuilding",
		Long: `rollback switches every host to RELEASE (default: the release before the
newest current one). Hosts that still have it switch at once; hosts that
pruned it get it again from the local release store, private settings
included. Hosts already on it are left alone. With via in the environment,
it runs on the admin node, from its store.`,
		Example: `  plat rollback prod
  plat rollback prod r41`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{errArgs(cmd, "an environment and optionally a release")}
			}
			return nil
		},
		Annotations: eventsOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			if viaDone, err := a.viaAdmin(cmd, args); viaDone || err != nil {
				return err
			}
			opts.envName = args[0]
			if len(args) == 2 {
				opts.release = args[1]
			}
			return runRollback(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().DurationVar(&opts.lockWait, "lock-wait", 0, "wait up to `DURATION` for the deploy lock")
	return cmd
}

func runRollback(ctx context.Context, a *app, opts rollbackOptions) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	res, err := e.Rollback(ctx, engine.RollbackOptions{EnvName: opts.envName, Release: opts.release, LockWait: opts.lockWait})
	if err != nil {
		return err
	}
	if a.json {
		a.result(newPushResult(opts.envName, res))
		return nil
	}
	a.printURLs(res.URLs)
	return nil
}
