#!/bin/sh
# unswitch.sh DEPLOY_TO ID
#
# Removes DEPLOY_TO/current when it names releases/ID: a host whose first
# release failed its health gate goes back to having none. The release
# directory stays.
#
# Exit: 0 always. Output: none.
# Go: hostcmd.Unswitch.

cd "$1" 2>/dev/null || exit 0
[ "$(readlink current 2>/dev/null)" = "releases/$2" ] && rm -f current
exit 0
