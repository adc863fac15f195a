#!/bin/sh
# promote.sh DEPLOY_TO SUFFIX
#
# Renames the pid files TYPE.pid<SUFFIX> over TYPE.pid: the generation
# that started next to the running one (restart = "overlap") becomes the
# current one.
#
# Exit: 0 always. Output: none.
# Go: hostcmd.Promote.

cd "$1/.plat/pids" 2>/dev/null || exit 0
for f in *.pid"$2"; do [ -f "$f" ] && mv -f "$f" "${f%"$2"}"; done; exit 0