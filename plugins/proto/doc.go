// Package pluginv1 is the generated code of plat's provider plugin protocol
// v1 (provider.proto). Only packages under plugins/ import it: the rest of
// plat sees plain platform interfaces. Regenerate with `make -C plugins proto`.
package pluginv1
