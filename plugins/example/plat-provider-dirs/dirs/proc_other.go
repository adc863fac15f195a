//go:build !linux

package dirs

import "syscall"

// procAttr: own process group.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
