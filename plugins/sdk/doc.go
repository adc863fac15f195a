// Package sdk is what a provider plugin's main package calls. Authors
// implement the plain platform interfaces (platform.ProviderFactory,
// platform.Provider, platform.Transport and, when they have them, the
// optional platform.Provisioner, platform.MachineStatuser and
// platform.Dialer) and serve them:
//
//	func main() { sdk.Serve(myprovider.Factory{}) }
//
// The binary must be named plat-provider-<name> (the name used in plat.hcl's
// provider "<name>" block) and must not write to stdout before Serve: the
// first line on stdout is go-plugin's handshake. Log to stderr; plat shows
// plugin stderr in its debug log and the tail of it when the plugin crashes.
//
// Serve speaks plat's plugin protocol v1 over hashicorp/go-plugin (gRPC,
// automatic mutual TLS). A plugin built with this package runs as a child of
// plat; it exits when plat closes the connection and is killed with plat.
//
// What crosses the boundary: the provider block's values (string, float64,
// bool, []string, map[string]string), the parts of platform.App and
// platform.Environment that decide targets (names, clusters, hosts, roles,
// addresses, deploy_to, ports, vars, env), and the targets' fields. A
// provider's abilities are found by type assertion on the value New
// returns, exactly as plat does for built-in providers.
package sdk
