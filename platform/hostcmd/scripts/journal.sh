#!/bin/sh
# journal.sh DEPLOY_TO LINE
#
# Appends LINE to the host's push journal, DEPLOY_TO/.plat/journal.
#
# Exit: 0, or non-zero when it cannot write. Output: none.
# Go: hostcmd.Journal.

mkdir -p "$1/.plat" && printf '%s\n' "$2" >> "$1/.plat/journal"