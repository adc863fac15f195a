package sshtest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// connectionPids lists the sshd processes that serve open connections to
// the listener root: its children (one privileged monitor per connection)
// and their sshd descendants (the process that speaks SSH to the client
// once it is authenticated), but not the commands they run.
func connectionPids(root int) ([]int, error) {
	m, err := children()
	if err != nil {
		return nil, err
	}
	var out []int
	queue := append([]int(nil), m[root]...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if !isSSHD(p) {
			continue
		}
		out = append(out, p)
		queue = append(queue, m[p]...)
	}
	return out, nil
}

// isSSHD reports whether pid runs sshd (or, from OpenSSH 9.8 on, its
// per-connection sshd-session): the command name, not the title sshd
// sets ("sshd: root@notty").
func isSSHD(pid int) bool {
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(comm)), "sshd")
}

func signalAll(pids []int, sig syscall.Signal) {
	for _, p := range pids {
		syscall.Kill(p, sig)
	}
}
