// Package docker is plat's "docker" provider: one container per host of an
// environment, on a per-environment network where hosts reach each other by
// name, driven through the Docker Engine API (github.com/moby/moby/client).
//
// The package also builds plat's Debian base image from a debootstrap rootfs
// (BuildBase, EnsureBase), because no image registry may be reachable, and
// provides a Transport that runs commands in a container through exec.
//
// Containers carry the labels plat.managed=true, plat.app, plat.env,
// plat.host and plat.roles; every lookup goes through these labels, so
// containers renamed or created by hand are never touched.
package docker
