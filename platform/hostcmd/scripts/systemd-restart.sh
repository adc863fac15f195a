#!/bin/sh
# systemd-restart.sh UNIT…
#
# Enables the units (they start with the user's manager) and restarts
# them: systemd stops the old process (TERM, TimeoutStopSec, KILL) and
# starts the new one.
#
# Exit: 0, or systemctl's non-zero. Output: systemctl's errors.
# Go: hostcmd.SystemdStart, hostcmd.SystemdRestart.

set -e
[ $# -gt 0 ] || exit 0
systemctl --user enable "$@" >/dev/null 2>&1
systemctl --user restart "$@"
