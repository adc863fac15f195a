#!/bin/sh
# logs.sh DEPLOY_TO N FOLLOW [TYPE.log…]
#
# Prints the last N lines of the process logs in DEPLOY_TO/.plat/logs
# (every *.log when none is named); with FOLLOW = 1 it follows them
# (tail -F) until it is killed.
#
# Exit: tail's; 0 when there are no logs.
# Go: hostcmd.Logs.

cd "$1/.plat/logs" 2>/dev/null || exit 0
n=$2; follow=$3; shift 3
[ $# -gt 0 ] || set -- *.log
[ -e "$1" ] || exit 0
if [ "$follow" = 1 ]; then exec tail -n "$n" -F "$@"; else exec tail -n "$n" "$@"; fi
