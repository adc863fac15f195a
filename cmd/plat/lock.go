package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/ui"
)

type lockOptions struct {
	envName   string
	breakLock bool // lock ENV break
}

func newLockCommand(a *app) *cobra.Command {
	var opts lockOptions
	cmd := &cobra.Command{
		Use:   "lock ENV [status|break]",
		Short: "Show or break an environment's deploy lock",
		Long: `Every push and rollback holds the environment's deploy lock on its hosts,
with a lease renewed while it runs: a lock whose holder died expires on its
own. "break" removes a lock whoever holds it and records that in
revisions.log.`,
		Example: `  plat lock prod
  plat lock prod break`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 || (len(args) == 2 && args[1] != "status" && args[1] != "break") {
				return usageError{errArgs(cmd, "an environment and optionally status or break")}
			}
			return nil
		},
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			if viaDone, err := a.viaAdmin(cmd, args); viaDone || err != nil {
				return err
			}
			opts.envName = args[0]
			opts.breakLock = len(args) == 2 && args[1] == "break"
			return runLock(cmd.Context(), a, opts)
		},
	}
	return cmd
}

func runLock(ctx context.Context, a *app, opts lockOptions) error {
	e, err := a.readEngine(ctx)
	if err != nil {
		return err
	}
	if opts.breakLock {
		broken, err := e.BreakLock(ctx, opts.envName)
		if err != nil {
			return err
		}
		if a.json {
			doc := lockBreakDoc{SchemaVersion: ui.SchemaVersion, Environment: opts.envName, Broken: []brokenLockRow{}}
			for _, b := range broken {
				doc.Broken = append(doc.Broken, brokenLockRow{Host: b.Host, Owner: b.Info.Owner, Since: b.Info.Since})
			}
			return a.printJSON(doc)
		}
		if len(broken) == 0 {
			fmt.Fprintf(a.stdout, "%s was not locked\n", opts.envName)
		}
		for _, b := range broken {
			fmt.Fprintf(a.stdout, "%s: broke the lock held by %s since %s\n", b.Host, b.Info.Owner, b.Info.Since.Format(time.RFC3339))
		}
		return nil
	}
	states, err := e.Lock(ctx, opts.envName)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(newLockDoc(opts.envName, states))
	}
	locked := false
	for _, s := range states {
		switch {
		case s.Err != nil:
			fmt.Fprintf(a.stdout, "%s: %v\n", s.Host, s.Err)
		case s.Locked:
			locked = true
			state := "held"
			if s.Stale {
				state = "expired (holder gone)"
			}
			fmt.Fprintf(a.stdout, "%s: locked by %s since %s, %s, lease until %s", s.Host, s.Info.Owner, s.Info.Since.Format(time.RFC3339), state, s.Info.Expires.Format(time.RFC3339))
			if s.Info.Message != "" {
				fmt.Fprintf(a.stdout, ": %q", s.Info.Message)
			}
			fmt.Fprintln(a.stdout)
		}
	}
	if !locked {
		fmt.Fprintf(a.stdout, "%s is not locked\n", opts.envName)
	}
	return nil
}

func errArgs(cmd *cobra.Command, what string) error {
	return fmt.Errorf("%s takes %s; see `%s --help`", cmd.CommandPath(), what, cmd.CommandPath())
}
