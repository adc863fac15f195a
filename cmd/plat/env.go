package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/environments"
	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/suggest"
	"github.com/plat-sh/plat/platform/ui"
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
			Use:         "list",
			Short:       "List environments with their provider and host count",
			Example:     "  plat env list",
			Args:        exactArgs(0, "no arguments"),
			Annotations: documentOutput,
			RunE: func(cmd *cobra.Command, args []string) error {
				p, err := a.load()
				if err != nil {
					return err
				}
				if a.json {
					doc := envListDoc{SchemaVersion: ui.SchemaVersion, Environments: []envListEntry{}}
					for _, e := range p.Environments {
						doc.Environments = append(doc.Environments, envListEntry{e.Name, e.Provider.Type, len(e.Hosts()), e.Inherits})
					}
					return a.printJSON(doc)
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
			Use:         "show ENV",
			Short:       "Show an environment resolved, with inheritance applied",
			Example:     "  plat env show prod",
			Args:        exactArgs(1, "one environment"),
			Annotations: documentOutput,
			RunE: func(cmd *cobra.Command, args []string) error {
				p, env, err := a.loadEnv(args[0])
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(newEnvShowDoc(p, env))
				}
				fmt.Fprint(a.stdout, environments.Describe(p, env))
				return nil
			},
		},
		&cobra.Command{
			Use:   "diff A B",
			Short: "Show what really differs between two environments",
			Long: `diff compares two environments field by field, inheritance and defaults
applied. Like diff(1), it exits 0 when they are the same and 1 when they
differ.`,
			Example:     "  plat env diff laptop dev",
			Args:        exactArgs(2, "two environments"),
			Annotations: documentOutput,
			RunE: func(cmd *cobra.Command, args []string) error {
				p, ea, err := a.loadEnv(args[0])
				if err != nil {
					return err
				}
				eb := p.Environment(args[1])
				if eb == nil {
					return unknownEnv(p, args[1])
				}
				diffs := environments.DiffFields(p, ea, eb)
				if len(diffs) > 0 {
					a.exitCode = exitDeployFail
				}
				if a.json {
					return a.printJSON(newEnvDiffDoc(ea.Name, eb.Name, diffs))
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
	return usageError{fmt.Errorf("unknown environment %q%s (defined: %s)", name, suggest.Hint(name, names), strings.Join(names, ", "))}
}
