#!/bin/sh
# systemd-stop.sh PREFIX
#
# Stops every unit of the user's manager named PREFIX*.service (every
# process type of one app, environment and host: plat down).
#
# Exit: 0 always.
# Go: hostcmd.SystemdStop.

dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
for f in "$dir/$1"*.service; do
  [ -f "$f" ] || continue
  systemctl --user stop "${f##*/}"
done
exit 0
