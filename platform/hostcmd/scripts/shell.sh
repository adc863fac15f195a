#!/bin/sh
# shell.sh   (no arguments)
#
# The shell plat console opens: bash where the host has it, else sh;
# interactive (-i) when stdin is a terminal, else reading commands from
# stdin.
#
# Exit: the shell's.
# Go: hostcmd.Shell.

i=
[ -t 0 ] && i=-i
if command -v bash >/dev/null 2>&1; then exec bash $i; fi
exec sh $i
