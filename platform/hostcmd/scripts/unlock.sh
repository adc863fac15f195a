#!/bin/sh
# unlock.sh DEPLOY_TO [TOKEN]
#
# Removes the deploy lock if TOKEN holds it, or whoever holds it when
# TOKEN is empty (plat lock break).
#
# Exit: 0 always. Output: the info of the lock it removed (none if none).
# Go: hostcmd.Unlock.

cd "$1" 2>/dev/null || exit 0
[ -d .plat/lock ] || exit 0
held=$(cat .plat/lock/info 2>/dev/null || true)
if [ -n "$2" ]; then case "$held" in *"token=$2"*) ;; *) exit 0;; esac; fi
rm -rf .plat/lock
printf '%s\n' "$held"
