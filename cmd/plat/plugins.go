package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/ui"
	"github.com/plat-sh/plat/plugins"
)

func newPluginsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List, install, lock and test provider plugins",
		Long: `Provider plugins are plat-provider-<name> executables found in .plat/plugins,
~/.plat/plugins or $PATH (the first wins). plat starts a plugin only when
plat.hcl uses its provider type, and only if .plat/plugins.lock.hcl records
its checksum: a binary that changed is refused until it is locked again.`,
		Example: `  plat plugins list
  plat plugins install ./plugins/example/plat-provider-dirs
  plat plugins lock dirs
  plat plugins test .plat/plugins/plat-provider-dirs --set root=/tmp/dirs`,
	}
	cmd.AddCommand(newPluginsListCommand(a), newPluginsInstallCommand(a), newPluginsLockCommand(a), newPluginsTestCommand(a))
	return cmd
}

type pluginsListOptions struct{}

func newPluginsListCommand(a *app) *cobra.Command {
	var opts pluginsListOptions
	return &cobra.Command{
		Use:         "list",
		Short:       "List the plugins plat finds, with version, protocol and path",
		Example:     "  plat plugins list",
		Args:        exactArgs(0, "no arguments"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPluginsList(cmd.Context(), a, opts)
		},
	}
}

func runPluginsList(ctx context.Context, a *app, opts pluginsListOptions) error {
	dir, err := a.projectDir()
	if err != nil {
		return err
	}
	infos, err := plugins.List(ctx, plugins.Options{HostVersion: version}, plugins.SearchDirs(dir)...)
	if err != nil {
		return err
	}
	if a.json {
		doc := pluginsDoc{SchemaVersion: ui.SchemaVersion, Plugins: []pluginJSON{}}
		for _, i := range infos {
			p := pluginJSON{Name: i.Name, Version: i.Version, Protocol: i.Protocol, Path: i.Path}
			if i.Err != nil {
				p.Error = i.Err.Error()
			}
			doc.Plugins = append(doc.Plugins, p)
		}
		return a.printJSON(doc)
	}
	if len(infos) == 0 {
		fmt.Fprintln(a.stdout, "no plugins found (plat-provider-<name> in .plat/plugins, ~/.plat/plugins or $PATH)")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tPROTOCOL\tPATH")
	for _, i := range infos {
		ver, proto := i.Version, fmt.Sprintf("v%d", i.Protocol)
		if i.Err != nil {
			ver, proto = "error: "+i.Err.Error(), "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", i.Name, dash(ver), proto, i.Path)
	}
	return tw.Flush()
}

type pluginsInstallOptions struct {
	source string // a path or MODULE@VERSION
}

func newPluginsInstallCommand(a *app) *cobra.Command {
	var opts pluginsInstallOptions
	return &cobra.Command{
		Use:   "install PATH | MODULE@VERSION",
		Short: "Install a plugin into .plat/plugins and lock its checksum",
		Long: `install copies a plugin binary, builds a Go package directory, or runs
go install MODULE@VERSION, into .plat/plugins, checks that it speaks plat's
plugin protocol, and records its checksum in .plat/plugins.lock.hcl.`,
		Example: `  plat plugins install ./plugins/example/plat-provider-dirs
  plat plugins install example.org/plat-provider-acme@v1.2.0`,
		Args:        exactArgs(1, "a path or MODULE@VERSION"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.source = args[0]
			return runPluginsInstall(cmd.Context(), a, opts)
		},
	}
}

func runPluginsInstall(ctx context.Context, a *app, opts pluginsInstallOptions) error {
	dir, err := a.projectDir()
	if err != nil {
		return err
	}
	state, err := stateDir(dir)
	if err != nil {
		return err
	}
	e, err := plugins.Install(ctx, opts.source, filepath.Join(state, "plugins"))
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(pluginLockDoc{SchemaVersion: ui.SchemaVersion, Name: e.Name, Version: e.Version, Checksum: e.Checksum,
			Path: e.Path, LockFile: filepath.Join(state, plugins.LockFileName)})
	}
	fmt.Fprintf(a.stdout, "installed %s %s (%s), locked in .plat/%s\n", e.Name, dash(e.Version), e.Checksum, plugins.LockFileName)
	return nil
}

type pluginsLockOptions struct {
	name string
}

func newPluginsLockCommand(a *app) *cobra.Command {
	var opts pluginsLockOptions
	return &cobra.Command{
		Use:         "lock NAME",
		Short:       "Record the checksum of the plugin plat finds for NAME",
		Example:     "  plat plugins lock dirs",
		Args:        exactArgs(1, "a plugin name"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runPluginsLock(cmd.Context(), a, opts)
		},
	}
}

func runPluginsLock(ctx context.Context, a *app, opts pluginsLockOptions) error {
	dir, err := a.projectDir()
	if err != nil {
		return err
	}
	path, err := plugins.Find(opts.name, plugins.SearchDirs(dir)...)
	if err != nil {
		return usageError{err}
	}
	state, err := stateDir(dir)
	if err != nil {
		return err
	}
	e, err := plugins.Lock(ctx, filepath.Join(state, plugins.LockFileName), path)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(pluginLockDoc{SchemaVersion: ui.SchemaVersion, Name: e.Name, Version: e.Version, Checksum: e.Checksum,
			Path: e.Path, LockFile: filepath.Join(state, plugins.LockFileName)})
	}
	fmt.Fprintf(a.stdout, "locked %s %s %s (%s)\n", e.Name, dash(e.Version), e.Checksum, path)
	return nil
}

type pluginsTestOptions struct {
	path    string
	sets    []string
	envName string
}

func newPluginsTestCommand(a *app) *cobra.Command {
	var opts pluginsTestOptions
	cmd := &cobra.Command{
		Use:   "test PATH",
		Short: "Run the provider conformance suite against a plugin binary",
		Long: `test starts the plugin and runs the same conformance checks the built-in
providers pass: schema, configuration, targets, every Transport check on
every target, and Up/Down idempotency for plugins that provision machines.
An engine provider (its schema says scheduled) gets the scheduler checks
instead: it publishes, deploys, execs, rolls back and destroys a throwaway
app on the engine.
The provider block comes from --set NAME=VALUE pairs, or from an
environment of plat.hcl with --env.`,
		Example: `  plat plugins test ./plat-provider-dirs --set root=/tmp/dirs
  plat plugins test .plat/plugins/plat-provider-acme --env staging`,
		Args:        exactArgs(1, "a plugin binary"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.path = args[0]
			return runPluginsTest(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.sets, "set", nil, "a provider attribute (`NAME=VALUE`, repeatable; values are strings)")
	cmd.Flags().StringVar(&opts.envName, "env", "", "take the provider block and hosts from `ENV` of plat.hcl")
	return cmd
}

func runPluginsTest(ctx context.Context, a *app, opts pluginsTestOptions) error {
	cfg := platform.ProviderConfig{Values: map[string]any{}}
	var env *platform.Environment
	if opts.envName != "" {
		_, e, err := a.loadEnv(opts.envName)
		if err != nil {
			return err
		}
		env, cfg = e, e.Provider
	}
	for _, kv := range opts.sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usageError{fmt.Errorf("--set %q: want NAME=VALUE", kv)}
		}
		cfg.Values[k] = v
	}
	if !a.json {
		return plugins.Conformance(ctx, opts.path, cfg, env, a.stdout)
	}
	if err := plugins.Conformance(ctx, opts.path, cfg, env, a.stderr); err != nil {
		return err
	}
	return a.printJSON(pluginTestDoc{SchemaVersion: ui.SchemaVersion, Path: opts.path, Passed: true})
}
