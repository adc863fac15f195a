#!/bin/sh
# systemd-install.sh PREFIX LOG_DIR [NAME CONTENT]…
#
# Writes each unit file NAME with CONTENT into the user's unit directory
# (${XDG_CONFIG_HOME:-~/.config}/systemd/user), atomically and private
# (umask 077: units hold the processes' environment), creates LOG_DIR
# (systemd opens StandardOutput=append: files itself and fails the unit,
# status 209/STDOUT, when their directory is missing), disables, stops
# and removes the units named PREFIX*.service that are not listed
# (process types dropped from the Procfile), and reloads systemd.
#
# Exit: 0, or non-zero (set -e), e.g. when the user has no systemd
# manager (daemon-reload fails).
# Go: hostcmd.SystemdInstall.

set -e
umask 077
dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
prefix=$1; logs=$2; shift 2
mkdir -p "$dir" "$logs"
keep=
while [ $# -ge 2 ]; do
  printf '%s' "$2" > "$dir/.$1.tmp"
  mv -f "$dir/.$1.tmp" "$dir/$1"
  keep="$keep $1 "
  shift 2
done
for f in "$dir/$prefix"*.service; do
  [ -f "$f" ] || continue
  n=${f##*/}
  case "$keep" in *" $n "*) continue;; esac
  systemctl --user disable --now "$n" >/dev/null 2>&1 || true
  rm -f "$f"
done
systemctl --user daemon-reload
