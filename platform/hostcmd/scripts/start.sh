#!/bin/sh
# start.sh DEPLOY_TO ID SUFFIX [TYPE COMMAND]…   (environment: the processes')
#
# Starts each Procfile process of releases/ID detached in its own session
# (setsid: its pid is its process group), with stdio appended to
# DEPLOY_TO/.plat/logs/TYPE.log and its pid in .plat/pids/TYPE.pid<SUFFIX>,
# and PLAT_PROCESS=TYPE in its environment (stop.sh and ps.sh recognise
# it by that; start.sh returns once each process has it, so a stop right
# after a start stops it). The release's secrets and .profile.d scripts are sourced
# first (hostcmd.SourceSecrets, hostcmd.SourceProfile) and COMMAND runs
# with bash where the host has it, else sh.
#
# Exit: 0, or non-zero (set -e) when the release or the dirs are missing.
# Output: "no-bash" first when the host has no bash (hostcmd.NoBash),
# then "TYPE PID" per process started.
# Go: hostcmd.Start.

set -e
root=$1; rel="$1/releases/$2"; sfx=$3; shift 3
mkdir -p "$root/.plat/pids" "$root/.plat/logs"
cd "$rel"
# shellcheck disable=SC2209 # hostcmd.PickShell, verbatim: the word bash, not its output.
if command -v bash >/dev/null 2>&1; then shell=bash; else shell=sh; fi
[ "$shell" = bash ] || echo no-bash
started=
while [ $# -ge 2 ]; do
  t=$1; c=$2; shift 2
  # shellcheck disable=SC2016 # expanded by the process's shell.
  PLAT_PROCESS=$t setsid "$shell" -c 'if [ -r .plat/secrets.env ]; then set -a; . ./.plat/secrets.env; set +a; fi; plat_home=${HOME-}; HOME=$PWD; export HOME; for f in .profile.d/*.sh; do [ -r "$f" ] && . "./$f"; done; HOME=$plat_home; unset plat_home; exec "$0" -c "$1"' "$shell" "$c" </dev/null >>"$root/.plat/logs/$t.log" 2>&1 &
  p=$!
  echo "$p" > "$root/.plat/pids/$t.pid$sfx"
  echo "$t $p"
  started="$started $t:$p"
done
# Until a child has exec'd, /proc shows this shell's environment, without
# PLAT_PROCESS, and stop.sh and ps.sh would take its pid file for a stale
# one: wait for each exec (or exit), 2 seconds at most in all. Process
# types are letters, digits, - and _, so ':' separates.
i=0
for tp in $started; do
  t=${tp%%:*}; p=${tp#*:}
  while [ "$i" -lt 200 ] && [ -r "/proc/$p/environ" ] && ! tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "PLAT_PROCESS=$t" && ! grep -qs '^State:[[:space:]]*Z' "/proc/$p/status"; do
    sleep 0.01 || break; i=$((i+1))
  done
done
