// Package platform holds plat's domain: the app and environment model, the
// release, and the contracts every adapter implements (Provider, Transport,
// Builder, UI). Adapters import platform, never each other; only cmd/plat
// wires them together.
package platform
