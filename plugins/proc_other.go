//go:build !linux

package plugins

import "syscall"

// childAttr puts the plugin in its own process group. Platforms without a
// parent-death signal rely on go-plugin noticing the closed connection.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
