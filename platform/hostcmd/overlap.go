package hostcmd

import (
	"strconv"
	"time"

	"github.com/plat-sh/plat/platform"
)

// Exit codes of WaitListen.
const (
	// ExitListenDied: the new generation's process exited (it could not
	// bind the port: the app does not allow SO_REUSEPORT, or it crashed).
	ExitListenDied = 1
	// ExitListenTimeout: it runs but does not listen on the port in time.
	ExitListenTimeout = 2
	// ExitListenUnknown: the host has no /proc/net/tcp to tell.
	ExitListenUnknown = 3
)

// waitListenScript waits until a process of the generation whose leader
// is in .plat/pids/<type>.pid<suffix> (its process group, as Start makes
// it with setsid) holds a listening TCP socket on the port: the socket
// inodes in LISTEN state (0A) on that port come from /proc/net/tcp{,6};
// a process owns one when one of its /proc/<pid>/fd links names it. A
// health check cannot tell this: while both generations listen, the
// kernel spreads connections over them.
const waitListenScript = `cd "$1/.plat/pids" || exit 1
t=$2; sfx=$3; port=$4; tenths=$5
[ -r /proc/net/tcp ] || exit 3
pg=$(cat "$t.pid$sfx") || exit 1
hex=$(printf ':%04X' "$port")
alive() { kill -0 "$1" 2>/dev/null || return 1; ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
i=0
while [ "$i" -lt "$tenths" ]; do
  alive "$pg" || { echo "plat: the new $t process ($pg) exited; see .plat/logs/$t.log" >&2; exit 1; }
  inodes=$(awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  if [ -n "$inodes" ]; then
    for p in $(awk -v g="$pg" '{ sub(/.*\) /, ""); if ($3 == g) print FILENAME }' /proc/[0-9]*/stat 2>/dev/null | cut -d/ -f3); do
      fds=$(ls -l "/proc/$p/fd" 2>/dev/null) || continue
      for ino in $inodes; do
        case "$fds" in *"socket:[$ino]"*) echo "listening $t $p"; exit 0;; esac
      done
    done
  fi
  sleep 0.1; i=$((i+1))
done
echo "plat: the new $t process ($pg) does not listen on port $port after $((tenths / 10))s" >&2
exit 2
`

// WaitListen waits up to timeout until the <kind> process generation with
// pid-file suffix listens on TCP port (see the Exit* codes).
func WaitListen(deployTo, kind, suffix string, port int, timeout time.Duration) *platform.Command {
	tenths := int(timeout / (100 * time.Millisecond))
	if tenths < 1 {
		tenths = 1
	}
	return script(waitListenScript, deployTo, kind, suffix, strconv.Itoa(port), strconv.Itoa(tenths))
}
