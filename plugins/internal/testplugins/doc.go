// Package testplugins holds provider plugins for the plugins package's
// tests: broken ones, which wrap the example dirs provider — one that
// crashes mid-command (plat-provider-crashy), one that writes to stdout
// before the handshake (plat-provider-noisy), one that only speaks
// protocol v2 (plat-provider-future) —, one built as before the engine
// RPCs were added to v1 (plat-provider-oldv1), and built-in providers
// served as plugins: local (plat-provider-local) and the swarm engine
// provider (plat-provider-swarmplug).
package testplugins
