#!/bin/sh
# lock-info.sh DEPLOY_TO
#
# Prints the host's clock and the deploy lock's info.
#
# Exit: 0 always.
# Output: "now=<unix seconds>", then the lock's key=value lines (none
# when unlocked).
# Go: hostcmd.LockInfo, parsed by hostcmd.ParseKV.

cd "$1" 2>/dev/null || { echo "now=$(date +%s)"; exit 0; }
echo "now=$(date +%s)"
cat .plat/lock/info 2>/dev/null || true
