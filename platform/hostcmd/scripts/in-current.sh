#!/bin/sh
# in-current.sh DEPLOY_TO ARG…
#
# Runs ARG… in DEPLOY_TO/current with its .profile.d scripts sourced
# (hostcmd.SourceProfile; by bash where the host has it), or in DEPLOY_TO
# itself, as it is, when no release is current yet (the hooks of a
# host's first push).
#
# Exit: 1 when DEPLOY_TO is missing, else the command's.
# Output: the command's.
# Go: hostcmd.InCurrent.

cd "$1" || exit 1
shift
if [ -d current ]; then
  cd current || exit 1
  # shellcheck disable=SC2209 # hostcmd.PickShell, verbatim: the word bash, not its output.
  if command -v bash >/dev/null 2>&1; then shell=bash; else shell=sh; fi
  # shellcheck disable=SC2016 # expanded by the inner shell.
  exec "$shell" -c 'plat_home=${HOME-}; HOME=$PWD; export HOME; for f in .profile.d/*.sh; do [ -r "$f" ] && . "./$f"; done; HOME=$plat_home; unset plat_home; exec "$@"' "$shell" "$@"
fi
exec "$@"
