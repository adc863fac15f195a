#!/bin/sh
# systemd-ps.sh UNIT…
#
# For each unit, prints "unit UNIT" followed by systemctl --user show's
# MainPID=, ActiveState=, SubState= and ActiveEnterTimestamp= (Unix
# seconds, "@N") lines, in systemd's order. A unit systemd does
# not know shows as inactive with MainPID=0.
#
# Exit: 0 always (a missing systemctl prints only the "unit" lines).
# Go: hostcmd.SystemdProcesses, parsed by hostcmd.ParseSystemdProcesses.

for u in "$@"; do
  echo "unit $u"
  systemctl --user show --timestamp=unix -p MainPID -p ActiveState -p SubState -p ActiveEnterTimestamp "$u" 2>/dev/null || true
done
