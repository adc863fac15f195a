package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform"
)

func newUpCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "up ENV",
		Short: "Create and start an environment's machines (docker, vagrant); idempotent",
		Example: `  plat up laptop
  plat up vm`,
		Args:        exactArgs(1, "one environment"),
		Annotations: eventsOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine(cmd.Context())
			if err != nil {
				return err
			}
			ms, err := e.Up(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			a.printMachines(args[0], ms)
			return nil
		},
	}
}

func newDownCommand(a *app) *cobra.Command {
	var destroy bool
	cmd := &cobra.Command{
		Use:   "down ENV",
		Short: "Stop the app's processes, and the machines of providers that have them",
		Example: `  plat down local
  plat down laptop --destroy`,
		Args:        exactArgs(1, "one environment"),
		Annotations: eventsOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.engine(cmd.Context())
			if err != nil {
				return err
			}
			ms, err := e.Down(cmd.Context(), args[0], destroy)
			if err != nil {
				return err
			}
			a.printMachines(args[0], ms)
			return nil
		},
	}
	cmd.Flags().BoolVar(&destroy, "destroy", false, "remove the machines (containers, networks, VMs) too")
	return cmd
}

func (a *app) printMachines(env string, ms []platform.MachineStatus) {
	if a.json {
		a.result(newMachinesResult(env, ms))
		return
	}
	for _, m := range ms {
		if m.Detail != "" {
			fmt.Fprintf(a.stdout, "%s %s (%s)\n", m.Host, m.State, m.Detail)
		} else {
			fmt.Fprintf(a.stdout, "%s %s\n", m.Host, m.State)
		}
	}
}
