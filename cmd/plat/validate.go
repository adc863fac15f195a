package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/ui"
)

func newValidateCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check plat.hcl and print every problem with file:line:col",
		Example: `  plat validate
  plat validate --var region=ams3`,
		Args:        exactArgs(0, "no arguments"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, diags, err := a.loadDiags()
			if a.json {
				var ce configError
				if err != nil && !errors.As(err, &ce) {
					return err
				}
				doc := validateDoc{SchemaVersion: ui.SchemaVersion, File: a.shownFile(), Valid: err == nil,
					Environments: []string{}, Diagnostics: diagnostics(diags)}
				if p != nil {
					doc.App = p.App.Name
					for _, e := range p.Environments {
						doc.Environments = append(doc.Environments, e.Name)
					}
				}
				if perr := a.printJSON(doc); perr != nil {
					return perr
				}
				return err
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: app %q, %d environments: ok\n", a.shownFile(), p.App.Name, len(p.Environments))
			return nil
		},
	}
}
