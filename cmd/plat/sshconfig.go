package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/ui"
	"github.com/plat-sh/plat/providers/ssh"
)

type sshConfigOptions struct {
	envName string
	host    string // "" for every host
}

func newSSHConfigCommand(a *app) *cobra.Command {
	var opts sshConfigOptions
	return &cobra.Command{
		Use:   "ssh-config ENV [HOST]",
		Short: "Show how plat reaches each host of an ssh environment, in ssh -G's format",
		Long: `ssh-config prints what plat resolved for every host of an ssh environment
(or only HOST) from the provider block, the host's vars and ssh_config:
hostname, port, user, identity and certificate files, identity agent,
proxy command or jump hosts, known_hosts files, host key alias and
timeouts. It connects to nothing.

The output is ssh -G's "key value" lines, one block per host, so it can
be compared with ` + "`ssh -G HOST`" + `. Paths are shown expanded (ssh -G shows
IdentityFile and CertificateFile as written). Some values are plat's own:
connecttimeout and serveraliveinterval default to 10 and 15 seconds,
the default identity files are id_rsa, id_ecdsa and id_ed25519, and
stricthostkeychecking is never "ask" (plat refuses an unknown host, or
records it with trust = "accept-new"). With no certificatefile, plat
offers the certificate IDENTITY-cert.pub next to each identity file, as
OpenSSH does.

--json prints one document: the environment and its hosts (docs/json.md).`,
		Example: `  plat ssh-config prod
  plat ssh-config prod web1
  diff <(plat ssh-config prod web1 | sort) <(ssh -G web1 | sort)`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{fmt.Errorf("%s takes an environment and optionally one host (got %d arguments); see `%s --help`", cmd.CommandPath(), len(args), cmd.CommandPath())}
			}
			return nil
		},
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.envName = args[0]
			if len(args) == 2 {
				opts.host = args[1]
			}
			return runSSHConfig(cmd.Context(), a, opts)
		},
	}
}

func runSSHConfig(_ context.Context, a *app, opts sshConfigOptions) error {
	p, env, err := a.loadEnv(opts.envName)
	if err != nil {
		return err
	}
	// Nothing is connected to: every error is the configuration's
	// (provider block, ssh_config, host name), exit 2.
	hosts, err := ssh.ResolveEnvironment(env, p.Dir, opts.host)
	if err != nil {
		return usageError{err}
	}
	if a.json {
		return a.printJSON(sshConfigDoc{SchemaVersion: ui.SchemaVersion, Environment: env.Name, Hosts: list(hosts)})
	}
	for i, h := range hosts {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		if h.Name != h.Host {
			fmt.Fprintf(a.stdout, "# %s\n", h.Name)
		}
		if err := h.WriteSSHConfig(a.stdout); err != nil {
			return err
		}
	}
	return nil
}
