#!/bin/sh
# ps.sh DEPLOY_TO
#
# Lists the processes plat supervises by pid file
# (DEPLOY_TO/.plat/pids/TYPE.pid).
#
# Exit: 0 always (no pid dir lists nothing).
# Output: one line per pid file: "TYPE PID running|dead SINCE", SINCE
# being the pid file's mtime in Unix seconds; a process that is gone, a
# zombie, or a stale pid file (see stop.sh) is dead.
# Go: hostcmd.Processes, parsed by hostcmd.ParseProcesses.

stale() { plat_env=$(tr '\0' '\n' < "/proc/$1/environ" 2>/dev/null) && [ -n "$plat_env" ] && ! printf '%s\n' "$plat_env" | grep -qx "PLAT_PROCESS=$2"; }
cd "$1/.plat/pids" 2>/dev/null || exit 0
for f in *.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$p/status" && ! stale "$p" "${f%.pid}"; then s=running; else s=dead; fi
  echo "${f%.pid} $p $s $(stat -c %Y "$f" 2>/dev/null || echo 0)"
done
