package hostcmd

import (
	"strconv"
	"time"

	"github.com/plat-sh/plat/platform"
)

// Exit codes of WaitListen and Owns.
const (
	// ExitListenDied: the new generation's process exited (it could not
	// bind the port: the app does not allow SO_REUSEPORT, another process
	// holds the port, or it crashed).
	ExitListenDied = 1
	// ExitListenTimeout: it runs but does not listen on the port in time.
	ExitListenTimeout = 2
	// ExitListenUnknown: the host has no /proc/net/tcp to tell.
	ExitListenUnknown = 3
	// ExitListenShared: it listens, but so does a process outside its
	// process group (another app on the same port, with SO_REUSEPORT).
	ExitListenShared = 4
	// ExitListenNoProcess: no such process is supervised (no web type).
	ExitListenNoProcess = 5
)

// waitListenScript is scripts/wait-listen.sh; its header documents it.
var waitListenScript = load("wait-listen.sh")

// WaitListen waits up to timeout until the <kind> process generation with
// pid-file suffix listens on TCP port (see the Exit* codes).
func WaitListen(deployTo, kind, suffix string, port int, timeout time.Duration) *platform.Command {
	return script(waitListenScript, deployTo, kind, suffix, strconv.Itoa(port), tenths(timeout), "", "")
}

// Owns waits up to timeout until the <kind> process plat supervises (by
// pid file, or as systemd unit when unit is set) is the only one
// listening on TCP port: the proof that the release's own process
// answers a health check. A timeout under a tenth of a second checks once.
func Owns(deployTo, kind, unit string, port int, timeout time.Duration) *platform.Command {
	return script(waitListenScript, deployTo, kind, "", strconv.Itoa(port), tenths(timeout), "exclusive", unit)
}

func tenths(d time.Duration) string {
	n := int(d / (100 * time.Millisecond))
	if n < 1 {
		n = 1
	}
	return strconv.Itoa(n)
}
