package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/engine"
)

type promoteOptions struct {
	from, to string // environment names
	release  string // "" for FROM's current release
	message  string
	yes      bool
	force    bool
	lockWait time.Duration
}

func newPromoteCommand(a *app) *cobra.Command {
	var opts promoteOptions
	cmd := &cobra.Command{
		Use:   "promote FROM TO [RELEASE]",
		Short: "Push the build of a release that passed one environment to another, without building again",
		Long: `promote takes the build output of RELEASE of FROM (default: the release FROM's
hosts run), which must be recorded as deployed there with outcome ok, and
pushes it to TO: no fetch, no build, the same tree except for TO's private
settings, then TO's own rollout (upload, release tasks, stages, health
gates). The new release of TO records where it came from; ` + "`plat releases TO`" + `
shows it. The build output is read from this machine's store or the team's
(plat.hcl ` + "`store`" + `).

Exit codes as for push: 0 promoted, 1 the push failed, 2 usage or
configuration error (among them a release that did not pass FROM), 3 TO is
locked.`,
		Example: `  plat promote stage prod
  plat promote stage prod r42 -m "release 1.4"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 || len(args) > 3 {
				return usageError{errArgs(cmd, "two environments and optionally a release")}
			}
			return nil
		},
		Annotations: eventsOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			if viaDone, err := a.viaPromote(cmd, args); viaDone || err != nil {
				return err
			}
			opts.from, opts.to = args[0], args[1]
			if len(args) == 3 {
				opts.release = args[2]
			}
			return runPromote(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.message, "message", "m", "", "note recorded with the release and the lock")
	f.BoolVarP(&opts.yes, "yes", "y", false, "answer yes to rollout confirmations")
	f.BoolVar(&opts.force, "force", false, "push even if every host of TO already runs the same content")
	f.DurationVar(&opts.lockWait, "lock-wait", 0, "wait up to `DURATION` for TO's deploy lock instead of failing")
	return cmd
}

func runPromote(ctx context.Context, a *app, opts promoteOptions) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	res, err := e.Promote(ctx, engine.PromoteOptions{
		From: opts.from, To: opts.to, Release: opts.release, Message: opts.message, Yes: opts.yes, Force: opts.force, LockWait: opts.lockWait,
	})
	if err != nil {
		return err
	}
	if a.json {
		a.result(newPushResult(opts.to, res))
		return nil
	}
	a.printURLs(res.URLs)
	return nil
}
