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

// waitListenScript waits until a process of the generation whose leader
// is in .plat/pids/<type>.pid<suffix> (its process group, as Start makes
// it with setsid), or the main process of systemd unit $7 (systemd makes
// each service a session of its own), holds a listening TCP socket on the
// port: the socket inodes in LISTEN state (0A) on that port come from
// /proc/net/tcp{,6}; a process owns one when one of its /proc/<pid>/fd
// links names it. A health check cannot tell this: while two processes
// listen (the old generation, or another app), the kernel spreads
// connections over them, and a dead process's port may be answered by
// someone else's. With $6 = exclusive, every listening socket on the port
// must be the group's: a socket of another process is exit 4, with the
// other process named where /proc shows it. The leader's exit is noticed
// within a tenth of a second (exit 1), so a process that cannot bind
// fails the gate at once instead of after every health retry.
const waitListenScript = `t=$2; sfx=$3; port=$4; tenths=$5; mode=$6; unit=$7
if [ -n "$unit" ]; then
  dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
  [ -f "$dir/$unit" ] || exit 5
  pg=$(systemctl --user show -p MainPID --value "$unit" 2>/dev/null) || pg=
  case "$pg" in ''|0|*[!0-9]*) echo "plat: the $t unit $unit has no running process; see journalctl --user -u $unit" >&2; exit 1;; esac
else
  cd "$1/.plat/pids" 2>/dev/null || exit 5
  [ -f "$t.pid$sfx" ] || exit 5
  pg=$(cat "$t.pid$sfx") || exit 1
fi
[ -r /proc/net/tcp ] || exit 3
hex=$(printf ':%04X' "$port")
alive() { kill -0 "$1" 2>/dev/null || return 1; ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
owner() { for f in /proc/[0-9]*/fd/*; do case "$(readlink "$f" 2>/dev/null)" in "socket:[$1]") p=${f#/proc/}; p=${p%%/*}; printf '%s (%s)' "$p" "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-80 | sed 's/ *$//')"; return 0;; esac; done; printf 'a process this user cannot see'; }
i=0
while [ "$i" -lt "$tenths" ]; do
  alive "$pg" || { echo "plat: the new $t process ($pg) exited; see .plat/logs/$t.log" >&2; exit 1; }
  inodes=$(awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  if [ -n "$inodes" ]; then
    fds=
    for p in $(awk -v g="$pg" '{ sub(/.*\) /, ""); if ($3 == g) print FILENAME }' /proc/[0-9]*/stat 2>/dev/null | cut -d/ -f3); do
      fds="$fds $(ls -l "/proc/$p/fd" 2>/dev/null)"
    done
    ours= foreign=
    for ino in $inodes; do
      case "$fds" in *"socket:[$ino]"*) ours=$ino;; *) foreign=$ino;; esac
    done
    if [ -n "$ours" ]; then
      if [ "$mode" = exclusive ] && [ -n "$foreign" ]; then
        echo "plat: port $port is also held by $(owner "$foreign"), not by this release's $t process ($pg): another app on the same port?" >&2
        exit 4
      fi
      echo "listening $t $pg"; exit 0
    fi
  fi
  sleep 0.1; i=$((i+1))
done
if [ -n "$inodes" ]; then
  echo "plat: the new $t process ($pg) does not listen on port $port after $((tenths / 10))s; the port is held by $(owner "${inodes%%[!0-9]*}")" >&2
else
  echo "plat: the new $t process ($pg) does not listen on port $port after $((tenths / 10))s" >&2
fi
exit 2
`

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
