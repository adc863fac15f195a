package hostcmd

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
)

// PickShell sets $shell to bash where the host has it, else sh: Heroku
// runs .profile.d scripts and Procfile commands with bash, and real
// buildpacks write bash there (arrays, [[ … ]], source).
const PickShell = `if command -v bash >/dev/null 2>&1; then shell=bash; else shell=sh; fi`

// profileExec, run as `$shell -c profileExec $shell COMMAND` in a
// release, sources its .profile.d scripts and runs COMMAND with the same
// shell, as Heroku does. It holds no single quote.
const profileExec = SourceSecrets + `; ` + SourceProfile + `; exec "$0" -c "$1"`

// NoBash is the line Start prints when the host has no bash.
const NoBash = "no-bash"

// startScript is scripts/start.sh; its header documents it.
var startScript = load("start.sh")

// SourceProfile sources the release's .profile.d/*.sh in the current
// directory (the release), with HOME set to it while they run, as Heroku
// runs them with HOME=/app: buildpacks write lines such as
// `export PATH="$HOME/.heroku/node/bin:$PATH"`. The process itself keeps
// the host user's HOME. It holds no single quote, so it fits in sh -c '…'. Buildpack tests run
// it too, so their .profile.d scripts are checked as hosts run them.
const SourceProfile = `plat_home=${HOME-}; HOME=$PWD; export HOME; for f in .profile.d/*.sh; do [ -r "$f" ] && . "./$f"; done; HOME=$plat_home; unset plat_home`

// Start starts processes (type → command) from release id. With a
// non-empty suffix the pid files are written as <type>.pid<suffix> (the
// new generation of an overlapping restart; see Promote).
func Start(deployTo, id, suffix string, procs map[string]string) *platform.Command {
	args := []string{deployTo, id, suffix}
	for _, t := range sortedKeys(procs) {
		args = append(args, t, procs[t])
	}
	return script(startScript, args...)
}

// stopScript is scripts/stop.sh; its header documents it.
var stopScript = load("stop.sh")

// Stop stops processes of the given types (all when none), waiting up to
// drain before killing them.
func Stop(deployTo string, drain time.Duration, suffix string, types ...string) *platform.Command {
	tenths := int(drain / (100 * time.Millisecond))
	if tenths < 1 {
		tenths = 1
	}
	return script(stopScript, append([]string{deployTo, strconv.Itoa(tenths), suffix}, types...)...)
}

// promoteScript is scripts/promote.sh; its header documents it.
var promoteScript = load("promote.sh")

// Promote makes pid files with suffix the current generation.
func Promote(deployTo, suffix string) *platform.Command {
	return script(promoteScript, deployTo, suffix)
}

// staleFunc defines stale PID TYPE: true when /proc shows a live process
// PID that plat did not start as a TYPE process (a pid reused after a
// restart); false when it is one, or is gone, or /proc cannot tell: an
// unreadable or empty environment (a process in the middle of an exec
// shows none for a moment) is not proof. ps.sh and stop.sh hold it
// verbatim.
const staleFunc = `stale() { plat_env=$(tr '\0' '\n' < "/proc/$1/environ" 2>/dev/null) && [ -n "$plat_env" ] && ! printf '%s\n' "$plat_env" | grep -qx "PLAT_PROCESS=$2"; }`

// psScript is scripts/ps.sh; its header documents it.
var psScript = load("ps.sh")

// Processes lists supervised processes.
func Processes(deployTo string) *platform.Command { return script(psScript, deployTo) }

// Process is one line of Processes' output.
type Process struct {
	Type    string
	PID     int
	Running bool
	// Since is when the process started (zero if unknown).
	Since time.Time `json:",omitzero"`
	// Unit, ActiveState and SubState are set under systemd: the unit's
	// name and its state as systemctl shows it ("active", "running").
	Unit        string `json:",omitempty"`
	ActiveState string `json:",omitempty"`
	SubState    string `json:",omitempty"`
}

// State is the process's state in words: systemd's "active (running)"
// for a unit, else "running" or "dead".
func (p Process) State() string {
	switch {
	case p.ActiveState != "" && p.SubState != "":
		return p.ActiveState + " (" + p.SubState + ")"
	case p.ActiveState != "":
		return p.ActiveState
	case p.Running:
		return "running"
	}
	return "dead"
}

// ParseProcesses parses Processes' output.
func ParseProcesses(out string) []Process {
	var ps []Process
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 && len(f) != 4 {
			continue
		}
		pid, _ := strconv.Atoi(f[1])
		p := Process{Type: f[0], PID: pid, Running: f[2] == "running"}
		if len(f) == 4 {
			if sec, err := strconv.ParseInt(f[3], 10, 64); err == nil && sec > 0 {
				p.Since = time.Unix(sec, 0)
			}
		}
		ps = append(ps, p)
	}
	return ps
}

// logsScript is scripts/logs.sh; its header documents it.
var logsScript = load("logs.sh")

// Logs prints the last n lines of the process logs (types: all when none).
func Logs(deployTo string, n int, follow bool, types ...string) *platform.Command {
	f := "0"
	if follow {
		f = "1"
	}
	var files []string
	for _, t := range types {
		files = append(files, t+".log")
	}
	return script(logsScript, append([]string{deployTo, strconv.Itoa(n), f}, files...)...)
}

// inDirScript is scripts/in-dir.sh; its header documents it.
var inDirScript = load("in-dir.sh")

// InDir runs argv in dir (a release, or a build tree) with the
// .profile.d scripts sourced (by bash where the host has it).
func InDir(dir string, argv []string) *platform.Command {
	return script(inDirScript, append([]string{dir}, argv...)...)
}

// InRelease runs argv in the current (or a given) release dir with the
// .profile.d scripts sourced (see InDir).
func InRelease(deployTo, id string, argv []string) *platform.Command {
	rel := "current"
	if id != "" {
		rel = "releases/" + id
	}
	return InDir(deployTo+"/"+rel, argv)
}

// inCurrentScript is scripts/in-current.sh.
var inCurrentScript = load("in-current.sh")

// InCurrent runs argv in the current release with the .profile.d scripts
// sourced, or in deployTo itself when no release is current yet (hooks of
// a host's first push).
func InCurrent(deployTo string, argv []string) *platform.Command {
	return script(inCurrentScript, append([]string{deployTo}, argv...)...)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
