#!/bin/sh
# in-dir.sh DIR ARG…   (environment: the command's)
#
# Runs ARG… in DIR (a release, or a build tree) with the release's
# secrets and .profile.d scripts sourced (hostcmd.SourceSecrets,
# hostcmd.SourceProfile), by bash where the host has it, else sh.
#
# Exit: 1 when DIR is missing, else the command's.
# Output: the command's.
# Go: hostcmd.InDir, hostcmd.InRelease.

cd "$1" || exit 1
shift
# shellcheck disable=SC2209 # hostcmd.PickShell, verbatim: the word bash, not its output.
if command -v bash >/dev/null 2>&1; then shell=bash; else shell=sh; fi
# shellcheck disable=SC2016 # expanded by the inner shell.
exec "$shell" -c 'if [ -r .plat/secrets.env ]; then set -a; . ./.plat/secrets.env; set +a; fi; plat_home=${HOME-}; HOME=$PWD; export HOME; for f in .profile.d/*.sh; do [ -r "$f" ] && . "./$f"; done; HOME=$plat_home; unset plat_home; exec "$@"' "$shell" "$@"
