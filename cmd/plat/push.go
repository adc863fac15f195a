package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/engine"
)

type pushOptions struct {
	envName  string
	ref      string
	message  string
	plan     bool
	resume   bool
	yes      bool
	force    bool
	lockWait time.Duration
}

func newPushCommand(a *app) *cobra.Command {
	var opts pushOptions
	cmd := &cobra.Command{
		Use:   "push ENV",
		Short: "Build, record and roll out a release to an environment",
		Long: `push builds the app once on this machine (fetch, buildpacks, build tasks,
package with private settings), records an immutable release, then on every
host: uploads only what the host lacks, runs release tasks once, switches
atomically stage by stage with health gates, and records history.

With via in the environment, all of this runs on the admin node it names,
on this repository's commit (README: Admin node).

Exit codes: 0 pushed, 1 the push failed (hosts are left consistent: see the
summary), 2 usage or configuration error, 3 the environment is locked.`,
		Example: `  plat push local
  plat push prod --ref v1.4.2 -m "fix checkout"
  plat push prod --plan          # show stages, changed files and tasks
  plat push prod --resume        # finish a halted push`,
		Args:        exactArgs(1, "one environment"),
		Annotations: eventsOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			if viaDone, err := a.viaAdmin(cmd, args); viaDone || err != nil {
				return err
			}
			opts.envName = args[0]
			return runPush(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ref, "ref", "", "git `REF` to deploy (default: HEAD, or the source block's branch)")
	f.StringVarP(&opts.message, "message", "m", "", "note recorded with the release and the lock")
	f.BoolVar(&opts.plan, "plan", false, "build and print the plan; change nothing")
	f.BoolVar(&opts.resume, "resume", false, "continue the last halted or interrupted push on the hosts that did not finish")
	f.BoolVarP(&opts.yes, "yes", "y", false, "answer yes to rollout confirmations")
	f.BoolVar(&opts.force, "force", false, "push even if every host already runs the same content")
	f.DurationVar(&opts.lockWait, "lock-wait", 0, "wait up to `DURATION` for the deploy lock instead of failing")
	return cmd
}

func runPush(ctx context.Context, a *app, opts pushOptions) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	res, err := e.Push(ctx, engine.PushOptions{
		EnvName: opts.envName, Ref: opts.ref, Message: opts.message, Plan: opts.plan, Resume: opts.resume,
		Yes: opts.yes, Force: opts.force, LockWait: opts.lockWait,
	})
	if err != nil {
		return err
	}
	if a.json {
		a.result(newPushResult(opts.envName, res))
		return nil
	}
	if res.Plan != nil {
		res.Plan.Write(a.stdout)
		return nil
	}
	a.printURLs(res.URLs)
	return nil
}

// printURLs ends a push with the URLs that answer.
func (a *app) printURLs(urls map[string]string) {
	if a.json || len(urls) == 0 {
		return
	}
	hosts := make([]string, 0, len(urls))
	for h := range urls {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	fmt.Fprintln(a.stdout)
	for _, h := range hosts {
		fmt.Fprintf(a.stdout, "%s %s\n", h, urls[h])
	}
}
