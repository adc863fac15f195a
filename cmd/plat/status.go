package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

type statusOptions struct {
	envName string
	verify  bool
}

func newStatusCommand(a *app) *cobra.Command {
	var opts statusOptions
	cmd := &cobra.Command{
		Use:   "status ENV",
		Short: "Show each host's current release, its age, git sha and processes",
		Long: `status shows what every host runs, with its processes as their
supervisor reports them: plat's pid files (running, dead), or with
processes = "systemd" each unit's state as systemctl shows it (active
(running), inactive (dead), failed). --verify checks every file of the
current release against its manifest and lists drift (changed, missing,
extra); it exits 1 when a host drifted.`,
		Example: `  plat status prod
  plat status prod --verify`,
		Args:        exactArgs(1, "one environment"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			if viaDone, err := a.viaAdmin(cmd, args); viaDone || err != nil {
				return err
			}
			opts.envName = args[0]
			return runStatus(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.verify, "verify", false, "check every file of the current release against its manifest")
	return cmd
}

func runStatus(ctx context.Context, a *app, opts statusOptions) error {
	e, err := a.readEngine(ctx)
	if err != nil {
		return err
	}
	rows, err := e.Status(ctx, opts.envName, opts.verify)
	if err != nil {
		return err
	}
	drifted := 0
	for _, r := range rows {
		if (r.Drift != nil && !r.Drift.Clean()) || r.Error != "" {
			drifted++
		}
	}
	if a.json {
		if err := a.printJSON(newStatusDoc(opts.envName, rows)); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HOST\tRELEASE\tAGE\tGIT SHA\tPROCESSES\tURL")
		for _, r := range rows {
			age := "-"
			if !r.Deployed.IsZero() {
				age = time.Since(r.Deployed).Round(time.Second).String()
			}
			sha := r.GitSHA
			if len(sha) > 7 {
				sha = sha[:7]
			}
			var procs []string
			for _, p := range r.Processes {
				// "web running" or "web dead" under plat's pid
				// files; systemd's words for a unit: "web active
				// (running)", "web inactive (dead)".
				procs = append(procs, p.Type+" "+p.State())
			}
			rel := r.Release
			if rel == "" {
				rel = "-"
			}
			if r.Error != "" {
				rel = "error"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Host, rel, age, dash(sha), dash(strings.Join(procs, ", ")), dash(r.URL))
		}
		tw.Flush()
		for _, r := range rows {
			if r.Error != "" {
				fmt.Fprintf(a.stdout, "%s: %s\n", r.Host, r.Error)
			}
			if r.Drift == nil {
				continue
			}
			if r.Drift.Clean() {
				fmt.Fprintf(a.stdout, "%s: %s verified, no drift\n", r.Host, r.Release)
				continue
			}
			fmt.Fprintf(a.stdout, "%s: drift in %s\n", r.Host, r.Release)
			for _, p := range r.Drift.Changed {
				fmt.Fprintf(a.stdout, "  changed  %s\n", p)
			}
			for _, p := range r.Drift.Missing {
				fmt.Fprintf(a.stdout, "  missing  %s\n", p)
			}
			for _, p := range r.Drift.Extra {
				fmt.Fprintf(a.stdout, "  extra    %s\n", p)
			}
		}
	}
	if drifted > 0 {
		a.exitCode = exitDeployFail
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
