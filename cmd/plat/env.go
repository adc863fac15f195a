package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/environments"
	"github.com/plat-sh/plat/platform"
)

func newEnvCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "List, show and compare environments",
		Example: `  plat env list
  plat env show prod
  plat env diff stage prod`,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:     "list",
			Short:   "List environments with their provider and host count",
			Example: "  plat env list",
			Args:    exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				p, err := a.load()
				if err != nil {
					return err
				}
				if a.json {
					type row struct {
						Name     string `json:"name"`
						Provider string `json:"provider"`
						Hosts    int    `json:"hosts"`
						Inherits string `json:"inherits,omitempty"`
					}
					var rows []row
					for _, e := range p.Environments {
						rows = append(rows, row{e.Name, e.Provider.Type, len(e.Hosts()), e.Inherits})
					}
					return json.NewEncoder(a.stdout).Encode(rows)
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ENVIRONMENT\tPROVIDER\tHOSTS\tINHERITS")
				for _, e := range p.Environments {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", e.Name, e.Provider.Type, len(e.Hosts()), e.Inherits)
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use:     "show ENV",
			Short:   "Show an environment resolved, with inheritance applied",
			Example: "  plat env show prod",
			Args:    exactArgs(1, "one environment"),
			RunE: func(cmd *cobra.Command, args []string) error {
				p, env, err := a.loadEnv(args[0])
				if err != nil {
					return err
				}
				if a.json {
					enc := json.NewEncoder(a.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(env)
				}
				fmt.Fprint(a.stdout, environments.Describe(p, env))
				return nil
			},
		},
		&cobra.Command{
			Use:     "diff A B",
			Short:   "Show what really differs between two environments",
			Example: "  plat env diff laptop dev",
			Args:    exactArgs(2, "two environments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				p, ea, err := a.loadEnv(args[0])
				if err != nil {
					return err
				}
				eb := p.Environment(args[1])
				if eb == nil {
					return unknownEnv(p, args[1])
				}
				fmt.Fprint(a.stdout, environments.Diff(p, ea, eb))
				return nil
			},
		},
	)
	return cmd
}

func (a *app) loadEnv(name string) (*platform.Project, *platform.Environment, error) {
	p, err := a.load()
	if err != nil {
		return nil, nil, err
	}
	env := p.Environment(name)
	if env == nil {
		return nil, nil, unknownEnv(p, name)
	}
	return p, env, nil
}

func unknownEnv(p *platform.Project, name string) error {
	var names []string
	for _, e := range p.Environments {
		names = append(names, e.Name)
	}
	return usageError{fmt.Errorf("unknown environment %q (defined: %v)", name, names)}
}
