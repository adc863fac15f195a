#!/bin/sh
# systemd-control.sh VERB UNIT…
#
# Runs systemctl --user VERB (start, stop) on the units; nothing without
# units.
#
# Exit: systemctl's. Output: systemctl's.
# Go: hostcmd.SystemdControl.

set -e
verb=$1; shift
[ $# -gt 0 ] || exit 0
systemctl --user "$verb" "$@"
