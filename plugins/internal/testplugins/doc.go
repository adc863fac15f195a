// Package testplugins holds provider plugins for the
// plugins package's tests: one that crashes mid-command
// (plat-provider-crashy), one that writes to stdout before the handshake
// (plat-provider-noisy) and one that only speaks protocol v2
// (plat-provider-future). They wrap the example dirs provider.
package testplugins
