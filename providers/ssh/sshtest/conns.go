package sshtest

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrNoConnection is returned by StallConnections and DropConnections when
// no client is connected to the host.
var ErrNoConnection = errors.New("no open connection")

// StallConnections stops (SIGSTOP) the sshd processes serving the host's
// open connections, and only those: the clients' TCP connections stay
// open but nothing answers on them, while the host's listener still
// accepts new connections and the commands already started keep running
// (until they write to their stalled session). It is a host whose sshd
// session hangs, where Freeze is a whole machine that hangs. It returns
// how many processes it stopped (a connection being set up or closed
// counts too); Thaw resumes them, Stop kills them.
func (h *Host) StallConnections() (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return 0, fmt.Errorf("stall connections to %s: not running", h.Name)
	}
	pids, err := connectionPids(h.cmd.Process.Pid)
	if err != nil {
		return 0, fmt.Errorf("stall connections to %s: %w", h.Name, err)
	}
	if len(pids) == 0 {
		return 0, fmt.Errorf("stall connections to %s: %w", h.Name, ErrNoConnection)
	}
	signalAll(pids, syscall.SIGSTOP)
	h.frozen = append(h.frozen, pids...)
	return len(pids), nil
}

// DropConnections kills (SIGKILL) the sshd processes serving the host's
// open connections: each client sees its connection closed by the peer in
// the middle of whatever it was doing, while the host stays up and
// accepts new connections. The commands those connections started are
// left running, as on a real host whose sshd session died. It returns how
// many processes it killed.
func (h *Host) DropConnections() (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return 0, fmt.Errorf("drop connections to %s: not running", h.Name)
	}
	pids, err := connectionPids(h.cmd.Process.Pid)
	if err != nil {
		return 0, fmt.Errorf("drop connections to %s: %w", h.Name, err)
	}
	if len(pids) == 0 {
		return 0, fmt.Errorf("drop connections to %s: %w", h.Name, ErrNoConnection)
	}
	signalAll(pids, syscall.SIGKILL)
	return len(pids), nil
}
