package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform"
)

type upOptions struct {
	envName string
}

func newUpCommand(a *app) *cobra.Command {
	var opts upOptions
	return &cobra.Command{
		Use:   "up ENV",
		Short: "Create and start an environment's machines (docker, vagrant); idempotent",
		Example: `  plat up laptop
  plat up vm`,
		Args:        exactArgs(1, "one environment"),
		Annotations: eventsOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.envName = args[0]
			return runUp(cmd.Context(), a, opts)
		},
	}
}

func runUp(ctx context.Context, a *app, opts upOptions) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	ms, err := e.Up(ctx, opts.envName)
	if err != nil {
		return err
	}
	a.printMachines(opts.envName, ms)
	return nil
}

type downOptions struct {
	envName string
	destroy bool
}

func newDownCommand(a *app) *cobra.Command {
	var opts downOptions
	cmd := &cobra.Command{
		Use:   "down ENV",
		Short: "Stop the app's processes, and the machines of providers that have them",
		Example: `  plat down local
  plat down laptop --destroy`,
		Args:        exactArgs(1, "one environment"),
		Annotations: eventsOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.envName = args[0]
			return runDown(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.destroy, "destroy", false, "remove the machines (containers, networks, VMs) too")
	return cmd
}

func runDown(ctx context.Context, a *app, opts downOptions) error {
	e, err := a.engine(ctx)
	if err != nil {
		return err
	}
	ms, err := e.Down(ctx, opts.envName, opts.destroy)
	if err != nil {
		return err
	}
	a.printMachines(opts.envName, ms)
	return nil
}

func (a *app) printMachines(envName string, ms []platform.MachineStatus) {
	if a.json {
		a.result(newMachinesResult(envName, ms))
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
