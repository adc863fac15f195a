package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/ui"
	"github.com/plat-sh/plat/providers/docker"
)

func newImageCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the local base images of the docker and vagrant providers",
		Example: `  plat image build-base
  plat image build-base --tag plat/base:bookworm --force`,
	}
	var opts imageBuildBaseOptions
	build := &cobra.Command{
		Use:   "build-base",
		Short: "Build the Debian base image from debootstrap (no registry needed); cached by tag",
		Long: `build-base makes a Debian rootfs with debootstrap from Debian's packages
and loads it into the local Docker Engine with an image import, tagged
plat/base:bookworm by default. It does nothing when the tag exists, unless
--force. It needs root and the debootstrap program.`,
		Example:     `  sudo plat image build-base`,
		Args:        exactArgs(0, "no arguments"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImageBuildBase(cmd.Context(), a, opts)
		},
	}
	build.Flags().StringVar(&opts.Tag, "tag", docker.DefaultImage, "image `TAG` to create")
	build.Flags().StringVar(&opts.Suite, "suite", "bookworm", "Debian `SUITE`")
	build.Flags().StringVar(&opts.Mirror, "mirror", "", "Debian archive `URL` (default: this machine's apt source)")
	build.Flags().BoolVar(&opts.force, "force", false, "rebuild even if the tag exists")
	cmd.AddCommand(build)
	return cmd
}

type imageBuildBaseOptions struct {
	docker.BaseOptions
	force bool
}

func runImageBuildBase(ctx context.Context, a *app, opts imageBuildBaseOptions) error {
	c, err := docker.Connect(ctx, "")
	if err != nil {
		return err
	}
	defer c.Close()
	base := opts.BaseOptions
	base.Output = a.stderr
	var tag string
	if opts.force {
		tag, err = docker.BuildBase(ctx, c, base)
	} else {
		tag, err = docker.EnsureBase(ctx, c, base)
	}
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(imageDoc{SchemaVersion: ui.SchemaVersion, Tag: tag})
	}
	fmt.Fprintf(a.stdout, "%s is ready\n", tag)
	return nil
}
