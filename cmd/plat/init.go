package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/buildpacks"
	"github.com/plat-sh/plat/environments"
	"github.com/plat-sh/plat/platform/ui"
)

type initOptions struct{ force bool }

func newInitCommand(a *app) *cobra.Command {
	var opts initOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter plat.hcl for the app in this directory",
		Long: `init detects the kind of app in the directory with the same detection
plat push uses when plat.hcl names no buildpack (go, python, node, static
site, or anything with a Procfile) and writes a commented plat.hcl with a
local environment of two hosts and an example ssh environment.`,
		Example: `  plat init
  plat -C ~/src/myapp init --force`,
		Args:        exactArgs(0, "no arguments"),
		Annotations: documentOutput,
		RunE:        func(cmd *cobra.Command, args []string) error { return runInit(cmd.Context(), a, opts) },
	}
	cmd.Flags().BoolVar(&opts.force, "force", false, "overwrite an existing plat.hcl")
	return cmd
}

func runInit(_ context.Context, a *app, opts initOptions) error {
	dir, err := a.startDir()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, a.fileName())
	if _, err := os.Stat(path); err == nil && !opts.force {
		return usageError{fmt.Errorf("%s already exists (use --force to overwrite)", path)}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	kind, err := initKind(dir)
	if err != nil {
		return err
	}
	content, err := environments.Starter(dir, kind)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return err
	}
	if a.json {
		return a.printJSON(initDoc{SchemaVersion: ui.SchemaVersion, Path: path, Kind: kind})
	}
	fmt.Fprintf(a.stdout, "Wrote %s for a %s app.\n", path, kind)
	if kind == environments.KindGeneric {
		fmt.Fprintf(a.stdout, "No buildpack applies here: add a Procfile and set buildpack = \"none\" to deploy the tree as it is, or name a buildpack.\n")
	}
	fmt.Fprintf(a.stdout, "Next: plat validate && plat push local\n")
	return nil
}

// initKind is the buildpack plat push would detect for dir (the same
// function), or generic when none applies.
func initKind(dir string) (string, error) {
	name, err := buildpacks.DetectBuiltin(dir)
	if errors.Is(err, buildpacks.ErrNothingDetected) {
		return environments.KindGeneric, nil
	}
	return name, err
}
