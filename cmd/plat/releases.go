package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

type releasesOptions struct {
	envName string
}

func newReleasesCommand(a *app) *cobra.Command {
	var opts releasesOptions
	return &cobra.Command{
		Use:   "releases ENV",
		Short: "List the history of an environment's releases, as the hosts record it",
		Example: `  plat releases prod
  plat releases prod --json`,
		Args:        exactArgs(1, "one environment"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			if viaDone, err := a.viaAdmin(cmd, args); viaDone || err != nil {
				return err
			}
			opts.envName = args[0]
			return runReleases(cmd.Context(), a, opts)
		},
	}
}

func runReleases(ctx context.Context, a *app, opts releasesOptions) error {
	e, err := a.readEngine(ctx)
	if err != nil {
		return err
	}
	rows, err := e.Releases(ctx, opts.envName)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(newReleasesDoc(opts.envName, rows))
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	promoted := false
	for _, r := range rows {
		promoted = promoted || r.PromotedFrom != nil
	}
	head := "RELEASE\tEVENT\tWHEN\tWHO\tGIT SHA\tHOSTS\tOUTCOME"
	if promoted {
		head += "\tPROMOTED FROM"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rows {
		id := r.ID
		if r.Current {
			id += " *"
		}
		sha := r.GitSHA
		if len(sha) > 7 {
			sha = sha[:7]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s", id, r.Event, r.Time.Local().Format(time.DateTime), r.Pusher, sha, r.Hosts, r.Outcome)
		if promoted {
			from := "-"
			if pf := r.PromotedFrom; pf != nil {
				from = pf.Env + " " + pf.Release
			}
			fmt.Fprintf(tw, "\t%s", from)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
