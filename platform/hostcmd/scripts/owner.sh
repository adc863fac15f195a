#!/bin/sh
# owner.sh DEPLOY_TO APP
#
# Checks that DEPLOY_TO belongs to APP (.plat/app), for commands that
# change a host without the deploy lock (down, start, stop). A DEPLOY_TO
# nobody claimed yet is not refused.
#
# Exit: 0 it is APP's or nobody's; 4 "owner" + the owner's name.
# Go: hostcmd.CheckOwner, hostcmd.ParseOwner.

cd "$1" 2>/dev/null || exit 0
owner=$(cat .plat/app 2>/dev/null) || exit 0
[ "$owner" = "$2" ] && exit 0
echo owner
printf '%s\n' "$owner"
exit 4
