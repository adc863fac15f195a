package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/ui"
)

type diffOptions struct {
	envName     string
	from, to    string
	showPrivate bool
}

func newDiffCommand(a *app) *cobra.Command {
	var opts diffOptions
	cmd := &cobra.Command{
		Use:   "diff ENV A B",
		Short: "List the files that changed between two releases",
		Long: `diff compares two recorded releases of an environment. Private settings
are listed by name only, unless --show-private prints their contents.
Secrets are listed by name when their value changed; their values are
never shown.`,
		Example: `  plat diff prod r41 r42
  plat diff prod r41 r42 --show-private`,
		Args:        exactArgs(3, "an environment and two releases"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			if viaDone, err := a.viaAdmin(cmd, args); viaDone || err != nil {
				return err
			}
			opts.envName, opts.from, opts.to = args[0], args[1], args[2]
			return runDiff(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.showPrivate, "show-private", false, "print the contents of changed private settings")
	return cmd
}

func runDiff(ctx context.Context, a *app, opts diffOptions) error {
	e, err := a.readEngine(ctx)
	if err != nil {
		return err
	}
	cs, err := e.Diff(ctx, opts.envName, opts.from, opts.to)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(diffDoc{SchemaVersion: ui.SchemaVersion, Environment: opts.envName, From: opts.from, To: opts.to, Changes: changes(cs)})
	}
	if len(cs) == 0 {
		fmt.Fprintf(a.stdout, "%s and %s have the same content\n", opts.from, opts.to)
	}
	for _, c := range cs {
		mark := map[string]string{"added": "+", "removed": "-", "changed": "~"}[c.Op]
		suffix := ""
		if c.Private {
			suffix = " (private)"
		}
		if c.Secret {
			suffix = " (secret)"
		}
		fmt.Fprintf(a.stdout, "%s %s%s\n", mark, c.Path, suffix)
		if c.Private && opts.showPrivate {
			for _, side := range []struct{ id, sign string }{{opts.from, "-"}, {opts.to, "+"}} {
				body, err := e.PrivateContent(opts.envName, side.id, c.Path)
				if err != nil || body == "" {
					continue
				}
				for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
					fmt.Fprintf(a.stdout, "    %s %s\n", side.sign, l)
				}
			}
		}
	}
	return nil
}
