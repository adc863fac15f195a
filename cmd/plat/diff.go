package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/ui"
)

func newDiffCommand(a *app) *cobra.Command {
	var showPrivate bool
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
			e, err := a.readEngine(cmd.Context())
			if err != nil {
				return err
			}
			cs, err := e.Diff(cmd.Context(), args[0], args[1], args[2])
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(diffDoc{SchemaVersion: ui.SchemaVersion, Environment: args[0], From: args[1], To: args[2], Changes: changes(cs)})
			}
			if len(cs) == 0 {
				fmt.Fprintf(a.stdout, "%s and %s have the same content\n", args[1], args[2])
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
				if c.Private && showPrivate {
					for _, side := range []struct{ id, sign string }{{args[1], "-"}, {args[2], "+"}} {
						body, err := e.PrivateContent(args[0], side.id, c.Path)
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
		},
	}
	cmd.Flags().BoolVar(&showPrivate, "show-private", false, "print the contents of changed private settings")
	return cmd
}
