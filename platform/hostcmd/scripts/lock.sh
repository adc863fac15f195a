#!/bin/sh
# lock.sh DEPLOY_TO TOKEN LEASE_SECONDS INFO [APP]
#
# Takes the environment's deploy lock on this host: the directory
# .plat/lock (mkdir is atomic) holding an info file, INFO's key=value
# lines plus expires= and token=. The holder of TOKEN renews it; an
# expired lease is taken over. A lock whose info has no readable expiry
# (garbage, or a holder killed between its mkdir and writing the info)
# expires LEASE_SECONDS after the info file (or the lock dir) last
# changed. With APP set, the first lock claims DEPLOY_TO for APP in
# .plat/app (O_EXCL, so two first pushes cannot both claim it).
#
# Exit and output:
#   0  "acquired"; "acquired stale" + the old info; "acquired unreadable"
#   1  .plat is a symbolic link (nothing is written through it)
#   3  "held" + the holder's info lines
#   4  "owner" + the name of the app DEPLOY_TO belongs to (nothing changed)
# Go: hostcmd.Lock, hostcmd.ParseOwner, hostcmd.ParseKV.

set -e
cd "$1" 2>/dev/null || { mkdir -p "$1"; cd "$1"; }
if [ -L .plat ]; then echo "plat: $1/.plat is a symbolic link (to $(readlink .plat)): refusing to write through it" >&2; exit 1; fi
mkdir -p .plat
token=$2; lease=$3; info=$4; app=$5
if [ -n "$app" ]; then
  ( set -C; printf '%s\n' "$app" > .plat/app ) 2>/dev/null || true
  owner=$(cat .plat/app 2>/dev/null || true)
  if [ "$owner" != "$app" ]; then echo owner; printf '%s\n' "$owner"; exit 4; fi
fi
now=$(date +%s)
write() { printf '%s\nexpires=%s\ntoken=%s\n' "$info" "$((now + lease))" "$token" > .plat/lock/info.tmp && mv .plat/lock/info.tmp .plat/lock/info; }
if mkdir .plat/lock 2>/dev/null; then write; echo acquired; exit 0; fi
held=$(cat .plat/lock/info 2>/dev/null || true)
case "$held" in *"token=$token"*) write; echo acquired; exit 0;; esac
exp=$(printf '%s\n' "$held" | sed -n 's/^expires=//p')
how=stale
case "$exp" in
  ''|*[!0-9]*)
    how=unreadable
    changed=$(stat -c %Y .plat/lock/info 2>/dev/null || stat -c %Y .plat/lock 2>/dev/null || echo "$now")
    exp=$((changed + lease)) ;;
esac
if [ "$exp" -lt "$now" ]; then
  rm -rf .plat/lock.stale; mv .plat/lock .plat/lock.stale 2>/dev/null || true
  if mkdir .plat/lock 2>/dev/null; then rm -rf .plat/lock.stale; write; echo "acquired $how"; [ "$how" = unreadable ] || printf '%s\n' "$held"; exit 0; fi
  held=$(cat .plat/lock/info 2>/dev/null || true)
fi
echo held
printf '%s\n' "$held"
exit 3
