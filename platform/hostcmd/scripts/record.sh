#!/bin/sh
# record.sh DEPLOY_TO REVISIONS_LINE HISTORY_LINE
#
# Appends REVISIONS_LINE to DEPLOY_TO/revisions.log (Capistrano's
# wording) and HISTORY_LINE to .plat/history (JSON lines). A last line
# cut short (a full disk, a killed writer) is ended first, so the new
# record is a line of its own.
#
# Exit: 0; 1 when either file is a symbolic link (nothing is written
# through it); other non-zero (set -e) on a failing write.
# Output: diagnostics on stderr only.
# Go: hostcmd.Record.

set -e
cd "$1"
mkdir -p .plat
for f in revisions.log .plat/history; do
  if [ -L "$f" ]; then echo "plat: $1/$f is a symbolic link (to $(readlink "$f")): refusing to write through it" >&2; exit 1; fi
  # A last line cut short (a full disk, a killed writer) stays a line of
  # its own: the new record is not glued to it.
  if [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ]; then echo >> "$f"; fi
done
printf '%s\n' "$2" >> revisions.log
printf '%s\n' "$3" >> .plat/history
