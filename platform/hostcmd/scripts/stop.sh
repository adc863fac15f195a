#!/bin/sh
# stop.sh DEPLOY_TO TENTHS SUFFIX [TYPE…]
#
# Stops processes by pid file (.plat/pids/TYPE.pid<SUFFIX>; every pid file
# with that suffix when no TYPE is given): TERM to the process group, up
# to TENTHS tenths of a second for the leaders to exit, then KILL to what
# is left of the groups, and up to a second more for leaders that needed
# the KILL to be gone. The pid files are removed. A pid file that
# outlived its machine may name a process plat did not start: where /proc
# shows a live process without PLAT_PROCESS=TYPE in its environment, it
# is stale and nothing is killed. The group is signalled as
# `kill -TERM -PGID` (dash and busybox sh reject `--` there).
#
# Exit: 0 always.
# Output: "stopped TYPE PID" or "stale TYPE PID" per pid file.
# Go: hostcmd.Stop.

root=$1; tenths=$2; sfx=$3; shift 3
alive() { kill -0 "$1" 2>/dev/null || return 1; [ -r "/proc/$1/status" ] || return 0; ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
stale() { plat_env=$(tr '\0' '\n' < "/proc/$1/environ" 2>/dev/null) && [ -n "$plat_env" ] && ! printf '%s\n' "$plat_env" | grep -qx "PLAT_PROCESS=$2"; }
cd "$root/.plat/pids" 2>/dev/null || exit 0
if [ $# -eq 0 ]; then
  for f in *.pid"$sfx"; do [ -f "$f" ] && set -- "$@" "${f%.pid"$sfx"}"; done
fi
pids=
groups=
for t in "$@"; do
  f="$t.pid$sfx"; [ -f "$f" ] || continue
  p=$(cat "$f"); rm -f "$f"
  [ -n "$p" ] || continue
  if stale "$p" "$t"; then echo "stale $t $p"; continue; fi
  kill -TERM "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  pids="$pids $p"
  groups="$groups $p"
  echo "stopped $t $p"
done
i=0
while [ -n "$pids" ] && [ $i -lt "$tenths" ]; do
  alive=
  for p in $pids; do alive "$p" && alive="$alive $p"; done
  pids=$alive
  [ -n "$pids" ] || break
  sleep 0.1; i=$((i+1))
done
# The leaders are gone (or out of time): KILL what is left of their groups
# too, children that ignored TERM included, so nothing keeps the port.
for p in $groups; do kill -KILL "-$p" 2>/dev/null || true; done
for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
# A killed leader's sockets close as it exits, which a loaded host may
# take a moment to do: wait for it (a second at most), so that the port is
# free when stop returns and the next generation's check sees no stranger.
i=0
while [ -n "$pids" ] && [ $i -lt 10 ]; do
  alive=
  for p in $pids; do alive "$p" && alive="$alive $p"; done
  pids=$alive
  [ -n "$pids" ] || break
  sleep 0.1; i=$((i+1))
done
exit 0
