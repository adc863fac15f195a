package hostcmd

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
)

// Units is what an environment with processes = "systemd" runs on one
// host: one systemd user unit per Procfile process type, written to the
// deploying user's unit directory (${XDG_CONFIG_HOME:-~/.config}/systemd/user)
// and driven with systemctl --user. The units survive logouts and reboots
// only where the user lingers (loginctl enable-linger USER).
type Units struct {
	App, Env, Host string
	DeployTo       string
	// Release is the release directory the processes run in.
	Release string
	// Procs maps process type to its Procfile command.
	Procs map[string]string
	// Vars is the processes' environment (PORT, PLAT_*, the app's env).
	Vars map[string]string
	// Drain is how long a process has to exit after TERM.
	Drain time.Duration
}

// UnitName is the unit of one process type on one host:
// plat-<app>-<env>-<host>-<type>.service, with characters systemd does not
// allow in unit names replaced by "_". The host is in the name because
// several hosts of an environment may share a machine (the local
// provider, test fleets).
func UnitName(app, env, host, kind string) string {
	return unitPrefix(app, env, host) + unitSafe(kind) + ".service"
}

var unitUnsafe = regexp.MustCompile(`[^A-Za-z0-9:_.\\-]`)

func unitSafe(s string) string { return unitUnsafe.ReplaceAllString(s, "_") }

// Names returns the units' names, sorted.
func (u Units) Names() []string {
	var out []string
	for _, k := range sortedKeys(u.Procs) {
		out = append(out, UnitName(u.App, u.Env, u.Host, k))
	}
	return out
}

// Files returns each unit's name and content, sorted by name.
func (u Units) Files() [][2]string {
	var out [][2]string
	for _, k := range sortedKeys(u.Procs) {
		out = append(out, [2]string{UnitName(u.App, u.Env, u.Host, k), u.unit(k)})
	}
	return out
}

// unit renders one unit file. The command runs as Start runs it: in the
// release directory, .profile.d sourced, PLAT_PROCESS set, output
// appended to .plat/logs/<type>.log, so plat logs works the same way.
func (u Units) unit(kind string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by plat for %s (environment %s, host %s); plat rewrites it on every switch.\n", u.App, u.Env, u.Host)
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=%s %s process (%s, plat)\n", specifierEscape(u.App), specifierEscape(kind), specifierEscape(u.Env))
	b.WriteString("After=network.target\n\n[Service]\nType=simple\n")
	fmt.Fprintf(&b, "WorkingDirectory=%s\n", specifierEscape(u.DeployTo+"/releases/"+u.Release))
	vars := map[string]string{"PLAT_PROCESS": kind}
	for k, v := range u.Vars {
		vars[k] = v
	}
	for _, k := range sortedKeys(vars) {
		fmt.Fprintf(&b, "Environment=%s\n", envQuote(k+"="+vars[k]))
	}
	argv := []string{"/bin/sh", "-c", PickShell + `; exec "$shell" -c '` + profileExec + `' "$shell" "$1"`, "plat-" + kind, u.Procs[kind]}
	quoted := []string{argv[0]}
	for _, a := range argv[1:] {
		quoted = append(quoted, execQuote(a))
	}
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(quoted, " "))
	log := specifierEscape(u.DeployTo + "/.plat/logs/" + kind + ".log")
	fmt.Fprintf(&b, "StandardOutput=append:%s\nStandardError=append:%s\n", log, log)
	secs := int(u.Drain.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	fmt.Fprintf(&b, "KillSignal=SIGTERM\nTimeoutStopSec=%d\nRestart=on-failure\nRestartSec=1\n\n[Install]\nWantedBy=default.target\n", secs)
	return b.String()
}

// specifierEscape doubles "%", which systemd expands in most settings.
func specifierEscape(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// envQuote quotes one Environment= assignment: double quotes with C-style
// escapes; "%" is a specifier, "$" is not expanded there.
func envQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "%", "%%")
	return `"` + r.Replace(s) + `"`
}

// execQuote quotes one ExecStart= argument: as envQuote, and "$" doubled
// because systemd expands $VAR and ${VAR} in command lines.
func execQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "%", "%%", "$", "$$")
	return `"` + r.Replace(s) + `"`
}

// systemdInstallScript is scripts/systemd-install.sh; its header documents it.
var systemdInstallScript = load("systemd-install.sh")

// SystemdInstall writes u's unit files on the host and drops the app's
// units for process types u no longer has.
func SystemdInstall(u Units) *platform.Command {
	args := []string{unitPrefix(u.App, u.Env, u.Host), u.DeployTo + "/.plat/logs"}
	for _, f := range u.Files() {
		args = append(args, f[0], f[1])
	}
	return script(systemdInstallScript, args...)
}

func unitPrefix(app, env, host string) string {
	return "plat-" + unitSafe(app) + "-" + unitSafe(env) + "-" + unitSafe(host) + "-"
}

// systemdRestartScript is scripts/systemd-restart.sh; its header documents it.
var systemdRestartScript = load("systemd-restart.sh")

// SystemdStart enables the units (they start with the user's manager)
// and restarts them: systemd stops the old process (TERM, TimeoutStopSec,
// then KILL) and starts the new one.
func SystemdStart(units ...string) *platform.Command {
	return script(systemdRestartScript, units...)
}

// systemdStopScript is scripts/systemd-stop.sh; its header documents it.
var systemdStopScript = load("systemd-stop.sh")

// SystemdStop stops the units of app in env on host (plat down).
func SystemdStop(app, env, host string) *platform.Command {
	return script(systemdStopScript, unitPrefix(app, env, host))
}
