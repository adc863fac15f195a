#!/bin/sh
# read-journal.sh DEPLOY_TO PUSH_ID
#
# Prints the journal lines of one push (those containing "PUSH_ID ").
#
# Exit: 0 always (no journal prints nothing).
# Go: hostcmd.ReadJournal.

grep -F -- "$2 " "$1/.plat/journal" 2>/dev/null || true