package hostcmd

import (
	"strconv"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
)

// Shell is the shell `plat console` opens: bash where the host has it,
// else sh; interactive on a terminal, else reading commands from stdin.
func Shell() []string {
	return []string{"sh", "-c", `i=; [ -t 0 ] && i=-i; if command -v bash >/dev/null 2>&1; then exec bash $i; fi; exec sh $i`}
}

// systemdPsScript prints, for each unit argument, a "unit NAME" line
// followed by systemctl's MainPID, ActiveState and the time it became
// active (Unix seconds, "@N"). A unit systemd does not know shows as
// inactive with pid 0.
const systemdPsScript = `for u in "$@"; do
  echo "unit $u"
  systemctl --user show --timestamp=unix -p MainPID -p ActiveState -p ActiveEnterTimestamp "$u" 2>/dev/null || true
done
`

// SystemdProcesses reports the units of the given process types on host
// (processes = "systemd"); parse with ParseSystemdProcesses.
func SystemdProcesses(app, env, host string, types []string) *platform.Command {
	units := make([]string, len(types))
	for i, t := range types {
		units[i] = UnitName(app, env, host, t)
	}
	return script(systemdPsScript, units...)
}

// ParseSystemdProcesses reads SystemdProcesses' output for the types it
// was given (in that order): a unit is running when systemd says it is
// active (or activating, reloading) with a main pid.
func ParseSystemdProcesses(app, env, host string, types []string, out string) []Process {
	byUnit := map[string]map[string]string{}
	var cur map[string]string
	for _, l := range strings.Split(out, "\n") {
		if u, ok := strings.CutPrefix(l, "unit "); ok {
			cur = map[string]string{}
			byUnit[u] = cur
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok && cur != nil {
			cur[k] = strings.TrimSpace(v)
		}
	}
	var ps []Process
	for _, t := range types {
		kv := byUnit[UnitName(app, env, host, t)]
		p := Process{Type: t}
		p.PID, _ = strconv.Atoi(kv["MainPID"])
		switch kv["ActiveState"] {
		case "active", "activating", "reloading":
			p.Running = p.PID > 0
		}
		if sec, err := strconv.ParseInt(strings.TrimPrefix(kv["ActiveEnterTimestamp"], "@"), 10, 64); err == nil && sec > 0 && p.Running {
			p.Since = time.Unix(sec, 0)
		}
		ps = append(ps, p)
	}
	return ps
}

const systemdControlScript = `set -e
verb=$1; shift
[ $# -gt 0 ] || exit 0
systemctl --user "$verb" "$@"
`

// SystemdControl runs `systemctl --user VERB` (start or stop) on the
// units of the given process types.
func SystemdControl(verb, app, env, host string, types []string) *platform.Command {
	args := []string{verb}
	for _, t := range types {
		args = append(args, UnitName(app, env, host, t))
	}
	return script(systemdControlScript, args...)
}

// SystemdRestart restarts (and enables) the units of the given process
// types: SystemdStart by type.
func SystemdRestart(app, env, host string, types []string) *platform.Command {
	units := make([]string, len(types))
	for i, t := range types {
		units[i] = UnitName(app, env, host, t)
	}
	return SystemdStart(units...)
}
