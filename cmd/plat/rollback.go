package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/engine"
)

func newRollbackCommand(a *app) *cobra.Command {
	var lockWait time.Duration
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
			e, err := a.engine(cmd.Context())
			if err != nil {
				return err
			}
			opts := engine.RollbackOptions{Env: args[0], LockWait: lockWait}
			if len(args) == 2 {
				opts.Release = args[1]
			}
			res, err := e.Rollback(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if a.json {
				a.result(newPushResult(args[0], res))
				return nil
			}
			a.printURLs(res.URLs)
			return nil
		},
	}
	cmd.Flags().DurationVar(&lockWait, "lock-wait", 0, "wait up to `DURATION` for the deploy lock")
	return cmd
}
