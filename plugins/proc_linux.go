package plugins

import "syscall"

// childAttr puts the plugin in its own process group (so Close can kill
// what it started, and a terminal's Ctrl-C reaches plat only, which then
// cancels calls cleanly) and asks the kernel to SIGKILL it when plat dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
