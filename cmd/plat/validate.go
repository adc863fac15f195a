package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check plat.hcl and print every problem with file:line:col",
		Example: `  plat validate
  plat validate --var region=ams3`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.load()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: app %q, %d environments: ok\n", a.file, p.App.Name, len(p.Environments))
			return nil
		},
	}
}
