package hostcmd

import (
	"strconv"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
)

// shellScript is scripts/shell.sh.
var shellScript = load("shell.sh")

// Shell is the shell `plat console` opens: bash where the host has it,
// else sh; interactive on a terminal, else reading commands from stdin.
func Shell() []string {
	return []string{"sh", "-c", shellScript}
}

// systemdPsScript is scripts/systemd-ps.sh; its header documents it.
var systemdPsScript = load("systemd-ps.sh")

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
	byUnit := parseUnits(out)
	var ps []Process
	for _, t := range types {
		u := UnitName(app, env, host, t)
		ps = append(ps, unitProcess(t, u, byUnit[u]))
	}
	return ps
}

// systemdUnitsScript is scripts/systemd-units.sh; its header documents it.
var systemdUnitsScript = load("systemd-units.sh")

// SystemdUnits reports every unit of app in env on host that has a unit
// file (plat status: no Procfile needed); parse with ParseSystemdUnits.
func SystemdUnits(app, env, host string) *platform.Command {
	return script(systemdUnitsScript, unitPrefix(app, env, host))
}

// ParseSystemdUnits reads SystemdUnits' output, one Process per unit in
// its order, the type taken from the unit's name.
func ParseSystemdUnits(app, env, host, out string) []Process {
	prefix := unitPrefix(app, env, host)
	byUnit := parseUnits(out)
	var ps []Process
	for _, l := range strings.Split(out, "\n") {
		u, ok := strings.CutPrefix(l, "unit ")
		if !ok {
			continue
		}
		t := strings.TrimSuffix(strings.TrimPrefix(u, prefix), ".service")
		ps = append(ps, unitProcess(t, u, byUnit[u]))
	}
	return ps
}

// parseUnits maps each "unit NAME" section to its key=value lines.
func parseUnits(out string) map[string]map[string]string {
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
	return byUnit
}

func unitProcess(typ, unit string, kv map[string]string) Process {
	p := Process{Type: typ, Unit: unit, ActiveState: kv["ActiveState"], SubState: kv["SubState"]}
	p.PID, _ = strconv.Atoi(kv["MainPID"])
	switch kv["ActiveState"] {
	case "active", "activating", "reloading":
		p.Running = p.PID > 0
	}
	if sec, err := strconv.ParseInt(strings.TrimPrefix(kv["ActiveEnterTimestamp"], "@"), 10, 64); err == nil && sec > 0 && p.Running {
		p.Since = time.Unix(sec, 0)
	}
	return p
}

// systemdControlScript is scripts/systemd-control.sh; its header documents it.
var systemdControlScript = load("systemd-control.sh")

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
