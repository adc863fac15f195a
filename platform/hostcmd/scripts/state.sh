#!/bin/sh
# state.sh DEPLOY_TO [hash]
#
# Prints what the host has under DEPLOY_TO, in sections:
#
#   current <id>|-
#   releases <id> <id> …
#   link <name> <target>      (one per releases/r* that is a symbolic link)
#   --- history
#   <lines of .plat/history>
#   --- manifest
#   <manifest of the current release>
#
# With $2 = "hash" the last section is "--- manifest-sha256" and the
# manifest's SHA-256 instead of the manifest.
#
# Nothing is read through a symbolic link plat did not make: a release
# name that is a link is listed as such, and the manifest is read only
# from a real release directory named by current.
#
# Exit: 0, also when DEPLOY_TO does not exist (then "current -" and an
# empty "releases" line are all it prints).
# Go: hostcmd.State, hostcmd.StateSummary; parsed by hostcmd.ParseState.

cd "$1" 2>/dev/null || { echo "current -"; echo "releases"; exit 0; }
cur=$(readlink current 2>/dev/null || true)
cur=${cur#releases/}
echo "current ${cur:--}"
printf 'releases'
for d in releases/r*; do [ -d "$d" ] && [ ! -L "$d" ] && printf ' %s' "${d#releases/}"; done
echo
for d in releases/r*; do [ -L "$d" ] && printf 'link %s %s\n' "${d#releases/}" "$(readlink "$d")"; done
man=
case "$cur" in
  ''|*/*|.*) ;;
  *) [ -d "releases/$cur" ] && [ ! -L "releases/$cur" ] && [ ! -L "releases/$cur/.plat" ] && [ ! -L "releases/$cur/.plat/manifest" ] && man="releases/$cur/.plat/manifest" ;;
esac
echo '--- history'
[ -L .plat/history ] || cat .plat/history 2>/dev/null || true
# A last line cut short must not swallow the next section's marker.
echo
if [ "$2" = hash ]; then
  echo '--- manifest-sha256'
  if [ -n "$man" ] && s=$(sha256sum < "$man" 2>/dev/null); then echo "${s%% *}"; fi
  exit 0
fi
echo '--- manifest'
if [ -n "$man" ]; then cat "$man" 2>/dev/null || true; fi
