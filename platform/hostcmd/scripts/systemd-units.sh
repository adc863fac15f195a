#!/bin/sh
# systemd-units.sh PREFIX
#
# Reports every unit file of the user's manager named PREFIX*.service
# (the units of one app, environment and host: plat status), as
# systemd-ps.sh does for named units: "unit UNIT" followed by
# systemctl --user show's MainPID=, ActiveState=, SubState= and
# ActiveEnterTimestamp= lines, units in name order.
#
# Exit: 0 always (no unit files print nothing).
# Go: hostcmd.SystemdUnits, parsed by hostcmd.ParseSystemdUnits.

dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
for f in "$dir/$1"*.service; do
  [ -f "$f" ] || continue
  u=${f##*/}
  echo "unit $u"
  systemctl --user show --timestamp=unix -p MainPID -p ActiveState -p SubState -p ActiveEnterTimestamp "$u" 2>/dev/null || true
done
