package dirs

import "syscall"

// procAttr: own process group, killed when the plugin dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
