#!/bin/sh
# wait-listen.sh DEPLOY_TO TYPE SUFFIX PORT TENTHS [exclusive] [UNIT]
#
# Waits up to TENTHS tenths of a second until a process of the generation
# whose leader is in DEPLOY_TO/.plat/pids/TYPE.pid<SUFFIX> (its process
# group, as start.sh makes it with setsid), or the main process of the
# systemd user unit UNIT, holds a listening TCP socket on PORT. The
# listening socket inodes on PORT come from /proc/net/tcp{,6}; a process
# owns one when one of its /proc/<pid>/fd links names it. With
# "exclusive", every listening socket on PORT must be the group's.
# The leader's exit is noticed within a tenth of a second.
#
# Exit (hostcmd.ExitListen*):
#   0  listening: "listening TYPE PID"
#   1  the process exited, or the unit has no main process (Died)
#   2  it runs but does not listen on PORT in time (Timeout)
#   3  the host has no /proc/net/tcp to tell (Unknown)
#   4  exclusive, and another process listens on PORT too (Shared)
#   5  no such pid file or unit (NoProcess)
# Diagnostics on stderr name the process and, where /proc shows it, the
# other holder of the port.
# Go: hostcmd.WaitListen, hostcmd.Owns.

t=$2; sfx=$3; port=$4; tenths=$5; mode=$6; unit=$7
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
    # The group's pids, one word each.
    # shellcheck disable=SC2013
    for p in $(awk -v g="$pg" '{ sub(/.*\) /, ""); if ($3 == g) print FILENAME }' /proc/[0-9]*/stat 2>/dev/null | cut -d/ -f3); do
      fds="$fds $(ls -l "/proc/$p/fd" 2>/dev/null)"
    done
    ours=''; foreign=''
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
