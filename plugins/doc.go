// Package plugins runs provider plugins: plat-provider-<name> executables
// that speak plat's plugin protocol v1 (hashicorp/go-plugin, gRPC only,
// automatic mutual TLS). The host side sees plain platform interfaces:
//
//	c, err := plugins.Open(ctx, path, plugins.Options{LockFile: lock})
//	defer c.Close()
//	factory := c.Factory() // platform.ProviderFactory
//
// The provider New returns implements platform.Provisioner and
// platform.MachineStatuser only when the plugin's provider does, and each
// target's transport implements platform.Dialer only when the plugin's does.
//
// The package also finds plugins (Discover, Find, List), installs them
// (Install, from a binary, a Go package directory or MODULE@VERSION),
// pins them in a lock file (.plat/plugins.lock.hcl: Lock, Verify) and runs
// the provider conformance suite through the boundary (Conformance).
//
// Process hygiene: a plugin runs in its own process group with a
// parent-death signal (SIGKILL on Linux), so a killed plat leaves no plugin
// behind; Close kills the plugin and whatever is left in its process group.
package plugins
