// Command build-base builds plat's Debian base image (plat/base:bookworm by
// default) from a debootstrap rootfs and loads it into the local Docker
// daemon, unless the tag already exists (-force rebuilds). Makefiles and CI
// run it as `go run ./providers/docker/cmd/build-base`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/plat-sh/plat/providers/docker"
)

func main() {
	var opts docker.BaseOptions
	force := flag.Bool("force", false, "rebuild even if the tag exists")
	host := flag.String("H", "", "Docker daemon address (default: DOCKER_HOST or the local socket)")
	quiet := flag.Bool("q", false, "do not print debootstrap's progress")
	flag.StringVar(&opts.Tag, "tag", docker.DefaultImage, "image tag to create")
	flag.StringVar(&opts.Suite, "suite", "bookworm", "Debian suite")
	flag.StringVar(&opts.Mirror, "mirror", "", "Debian mirror (default: the one in /etc/apt sources, else deb.debian.org)")
	flag.Parse()
	if !*quiet {
		opts.Output = os.Stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *host, *force, opts); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, host string, force bool, opts docker.BaseOptions) error {
	c, err := docker.Connect(ctx, host)
	if err != nil {
		return err
	}
	defer c.Close()
	build := docker.EnsureBase
	if force {
		build = docker.BuildBase
	}
	tag, err := build(ctx, c, opts)
	if err != nil {
		return err
	}
	fmt.Println(tag)
	return nil
}
