package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/environments"
	"github.com/plat-sh/plat/platform/ui"
)

type initOptions struct{ force bool }

func newInitCommand(a *app) *cobra.Command {
	var opts initOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter plat.hcl for the app in this directory",
		Long: `init detects the kind of app in the directory (python, go, node, static
site, or anything with a Procfile) and writes a commented plat.hcl with a
local environment of two hosts and an example ssh environment.`,
		Example: `  plat init
  plat -C ~/src/myapp init --force`,
		Args:        exactArgs(0, "no arguments"),
		Annotations: documentOutput,
		RunE:        func(cmd *cobra.Command, args []string) error { return runInit(a, opts) },
	}
	cmd.Flags().BoolVar(&opts.force, "force", false, "overwrite an existing plat.hcl")
	return cmd
}

func runInit(a *app, opts initOptions) error {
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
	content, kind, err := environments.Starter(dir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return err
	}
	if a.json {
		return a.printJSON(initDoc{SchemaVersion: ui.SchemaVersion, Path: path, Kind: kind})
	}
	fmt.Fprintf(a.stdout, "Wrote %s for a %s app.\nNext: plat validate && plat push local\n", path, kind)
	return nil
}
