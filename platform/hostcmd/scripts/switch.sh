#!/bin/sh
# switch.sh DEPLOY_TO ID
#
# Points DEPLOY_TO/current at releases/ID atomically: a symbolic link
# under a temp name (.plat/current.tmp), then rename(2) over current
# (mv -T), never ln -sfn.
#
# Exit: 0 switched; 1 releases/ID is missing or is a symbolic link.
# Output: the release id current pointed at before (empty line if none).
# Go: hostcmd.Switch.

set -e
cd "$1"
[ -d "releases/$2" ] || { echo "plat: releases/$2 does not exist" >&2; exit 1; }
if [ -L "releases/$2" ]; then
  echo "plat: $1/releases/$2 is a symbolic link (to $(readlink "releases/$2")), not a release plat made: refusing to switch to it" >&2; exit 1
fi
prev=$(readlink current 2>/dev/null || true)
rm -f .plat/current.tmp
ln -s "releases/$2" .plat/current.tmp
mv -T .plat/current.tmp current
echo "${prev#releases/}"
