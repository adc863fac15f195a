// Package docker is plat's "docker" provider: one container per host of an
// environment, on a per-environment network where hosts reach each other by
// name, driven through the Docker Engine API (github.com/moby/moby/client,
// which negotiates the API version down to the daemon's, 1.40 at least).
//
// Containers are named plat-<app>-<env>-<host>, take the host name as
// hostname and network alias, run docker-init (or a trapping shell) as
// PID 1, and carry the labels plat.managed=true, plat.app, plat.env,
// plat.host and plat.roles; every lookup goes through these labels.
//
// Factory is the platform.ProviderFactory cmd/plat registers as "docker".
// Its Provider implements platform.Provider, platform.Provisioner and
// platform.MachineStatuser; its targets' *Transport runs commands through
// exec and also implements platform.Dialer and PutArchive.
//
// No image registry is assumed reachable, so the package builds plat's
// Debian base image itself: Connect, then EnsureBase (no-op when the tag
// exists) or BuildBase (always) run debootstrap and import the rootfs as
// DefaultImage. `go run ./providers/docker/cmd/build-base` does the same
// from a Makefile or CI.
package docker
