package main

import (
	"github.com/spf13/cobra"
)

func newConsoleCommand(a *app) *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "console ENV [--host H | --role R]",
		Short: "Open the app's console, or a shell, in the current release of a host",
		Long: `console runs the app block's console command of plat.hcl (for example
["python3", "manage.py", "shell"]), or an interactive shell (bash, else sh),
in the current release of one host: the --host, else the first host with
--role, else the environment's first host. It gets the environment the app's
processes get, with .profile.d sourced.

On a terminal, console runs on a remote terminal of the same size (as
exec -i -t); otherwise standard input is forwarded. Its exit code is plat's.`,
		Example: `  plat console prod
  plat console prod --host web2
  echo 'echo $PLAT_RELEASE' | plat console local`,
		Args:        exactArgs(1, "one environment"),
		Annotations: passthroughOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.envName, o.command, o.console = args[0], cmd.CommandPath(), true
			o.interactive = true
			o.tty = a.interactive()
			return runExec(cmd.Context(), a, o)
		},
	}
	cmd.Flags().StringVar(&o.sel.Role, "role", "", "on the first host with `ROLE`")
	cmd.Flags().StringSliceVar(&o.sel.Hosts, "host", nil, "on `HOST`")
	return cmd
}
