package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/engine"
)

type psOptions struct {
	envName string
	sel     engine.Selector
}

func newPsCommand(a *app) *cobra.Command {
	var opts psOptions
	cmd := &cobra.Command{
		Use:   "ps ENV [--host H | --role R]",
		Short: "List the app's processes on each host: type, pid, state, since",
		Long: `ps lists the process types of the current release on each host, with
their pid, state and since when they run, under either supervisor (plat's
pid files, or systemd with processes = "systemd"). A state is running, dead
(it was started and is gone: it crashed or was killed) or stopped. ps exits
1 when a process is not running or a host cannot be read.`,
		Example: `  plat ps prod
  plat ps prod --host web1 --json`,
		Args:        exactArgs(1, "one environment"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.envName = args[0]
			return runPs(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().StringSliceVar(&opts.sel.Hosts, "host", nil, "only these `HOSTS`")
	cmd.Flags().StringVar(&opts.sel.Role, "role", "", "only hosts with `ROLE`")
	return cmd
}

func runPs(ctx context.Context, a *app, opts psOptions) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	e.UI = nil
	rows, err := e.Ps(ctx, opts.envName, opts.sel)
	if err != nil {
		return err
	}
	down := 0
	for _, r := range rows {
		if r.Error != "" || r.State != engine.StateRunning {
			down++
		}
	}
	if down > 0 {
		a.exitCode = exitDeployFail
	}
	if a.json {
		return a.printJSON(newPsDoc(opts.envName, rows))
	}
	writePs(a, rows, time.Now())
	return nil
}

func writePs(a *app, rows []engine.ProcessStatus, now time.Time) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tRELEASE\tTYPE\tPID\tSTATE\tSINCE")
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\terror\t-\n", r.Host, dash(r.Release))
			continue
		}
		pid, since := "-", "-"
		if r.PID > 0 {
			pid = fmt.Sprint(r.PID)
		}
		if !r.Since.IsZero() {
			since = fmt.Sprintf("%s (%s ago)", r.Since.Local().Format("2006-01-02 15:04:05"), now.Sub(r.Since).Round(time.Second))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Host, r.Release, r.Type, pid, r.State, since)
	}
	tw.Flush()
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(a.stdout, "%s: %s\n", r.Host, r.Error)
		}
	}
}
