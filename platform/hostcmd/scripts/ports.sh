#!/bin/sh
# ports.sh HOST_DIR MODE DEPLOY_TO APP ENV BASE NAMED
#
# The host's port registry, one file for every app on the host:
# HOST_DIR/ports ("~/" is $HOME) holds one line per deploy_to,
# "PORT APP ENV DEPLOY_TO". MODE lookup prints DEPLOY_TO's port, or "-"
# when it has none, and writes nothing. MODE assign records and prints
# the port: NAMED when it is not 0, else the one recorded before, else
# the lowest port from BASE up that no line holds. It changes the file
# under HOST_DIR/ports.lock (mkdir; taken over when older than a minute)
# and replaces it by rename, so a reader never sees half a file.
#
# Exit and output:
#   0  the port ("-" for a lookup that found none)
#   1  the registry cannot be written (or its lock is held for 30s)
#   5  "clash" + the line of the other deploy_to that holds NAMED
#      (nothing changed)
# Go: hostcmd.PortLookup, hostcmd.PortAssign, hostcmd.ParsePort,
# hostcmd.ParseClash.

set -u
dir=$1
case "$dir" in \~/*) dir="$HOME/${dir#??}" ;; \~) dir=$HOME ;; esac
mode=$2 key=$3 app=$4 env=$5 base=$6 named=$7
reg="$dir/ports"

# find KEY: the port recorded for deploy_to KEY, "" for none.
find_port() {
  [ -f "$reg" ] || return 0
  while read -r p a e k; do
    if [ "$k" = "$1" ]; then printf '%s' "$p"; return 0; fi
  done < "$reg"
}

# holder PORT: the line of another deploy_to that holds PORT.
holder() {
  [ -f "$reg" ] || return 0
  while read -r p a e k; do
    if [ "$p" = "$1" ] && [ "$k" != "$key" ]; then printf '%s %s %s %s' "$p" "$a" "$e" "$k"; return 0; fi
  done < "$reg"
}

if [ "$mode" = lookup ]; then
  p=$(find_port "$key")
  echo "${p:--}"
  exit 0
fi

mkdir -p "$dir" || exit 1
lock="$dir/ports.lock"
tries=0
until mkdir "$lock" 2>/dev/null; do
  if [ -n "$(find "$lock" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
    rmdir "$lock" 2>/dev/null
    continue
  fi
  tries=$((tries + 1))
  if [ "$tries" -gt 300 ]; then
    echo "plat: $lock is held for more than 30s" >&2
    exit 1
  fi
  sleep 0.1 2>/dev/null || sleep 1
done
trap 'rmdir "$lock" 2>/dev/null' EXIT

if [ "$named" != 0 ]; then
  h=$(holder "$named")
  if [ -n "$h" ]; then
    echo clash
    echo "$h"
    exit 5
  fi
  port=$named
else
  port=$(find_port "$key")
  if [ -z "$port" ]; then
    port=$base
    while [ -n "$(holder "$port")" ]; do port=$((port + 1)); done
  fi
fi

tmp="$reg.$$.tmp"
{
  if [ -f "$reg" ]; then
    while read -r p a e k; do
      [ "$k" = "$key" ] || printf '%s %s %s %s\n' "$p" "$a" "$e" "$k"
    done < "$reg"
  fi
  printf '%s %s %s %s\n' "$port" "$app" "$env" "$key"
} > "$tmp" || { rm -f "$tmp"; exit 1; }
if ! mv -f "$tmp" "$reg"; then
  rm -f "$tmp"
  exit 1
fi
echo "$port"
