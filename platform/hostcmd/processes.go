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

// startScript starts each Procfile process of releases/<id> detached in
// its own session (setsid: its pid is its process group), with stdio on
// <deploy_to>/.plat/logs/<type>.log and the pid in .plat/pids/<type>.pid.
// .profile.d scripts are sourced first (see SourceProfile), and the
// command runs, with bash where the host has it (else sh, and a line
// "no-bash" says so). Arguments after the release are type/command pairs.
const startScript = `set -e
root=$1; rel="$1/releases/$2"; sfx=$3; shift 3
mkdir -p "$root/.plat/pids" "$root/.plat/logs"
cd "$rel"
` + PickShell + `
[ "$shell" = bash ] || echo ` + NoBash + `
while [ $# -ge 2 ]; do
  t=$1; c=$2; shift 2
  PLAT_PROCESS=$t setsid "$shell" -c '` + profileExec + `' "$shell" "$c" </dev/null >>"$root/.plat/logs/$t.log" 2>&1 &
  echo $! > "$root/.plat/pids/$t.pid$sfx"
  echo "$t $!"
done
`

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

// stopScript stops processes by pid file: TERM to the process group, wait
// up to the drain timeout for the leader to exit, then KILL whatever is
// left of the group. With type arguments only those stop.
// The group is signalled as `kill -TERM -PGID`: dash and busybox sh reject
// a `--` there, which would leave the leader's children running.
// A pid file that outlived its machine (a restarted container or a rebooted
// host) may name a process plat did not start, even this script: where
// /proc shows a live process without PLAT_PROCESS=<type> in its initial
// environment, the pid file is stale and nothing is killed.
const stopScript = `root=$1; tenths=$2; sfx=$3; shift 3
alive() { kill -0 "$1" 2>/dev/null || return 1; [ -r "/proc/$1/status" ] || return 0; ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
` + staleFunc + `
cd "$root/.plat/pids" 2>/dev/null || exit 0
if [ $# -eq 0 ]; then set -- $(ls -1 | sed -n "s/\.pid$sfx\$//p"); fi
pids=
groups=
for t in "$@"; do
  f="$t.pid$sfx"; [ -f "$f" ] || continue
  p=$(cat "$f"); rm -f "$f"
  [ -n "$p" ] || continue
  if stale "$p" "$t"; then echo "stale $t $p"; continue; fi
  kill -TERM "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  pids="$pids $p"
  groups="$groups $p"
  echo "stopped $t $p"
done
i=0
while [ -n "$pids" ] && [ $i -lt "$tenths" ]; do
  alive=
  for p in $pids; do alive "$p" && alive="$alive $p"; done
  pids=$alive
  [ -n "$pids" ] || break
  sleep 0.1; i=$((i+1))
done
# The leaders are gone (or out of time): KILL what is left of their groups
# too, children that ignored TERM included, so nothing keeps the port.
for p in $groups; do kill -KILL "-$p" 2>/dev/null || true; done
for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
exit 0
`

// Stop stops processes of the given types (all when none), waiting up to
// drain before killing them.
func Stop(deployTo string, drain time.Duration, suffix string, types ...string) *platform.Command {
	tenths := int(drain / (100 * time.Millisecond))
	if tenths < 1 {
		tenths = 1
	}
	return script(stopScript, append([]string{deployTo, strconv.Itoa(tenths), suffix}, types...)...)
}

// promoteScript renames the new generation's pid files over the old ones.
const promoteScript = `cd "$1/.plat/pids" 2>/dev/null || exit 0
for f in *.pid"$2"; do [ -f "$f" ] && mv -f "$f" "${f%"$2"}"; done; exit 0`

// Promote makes pid files with suffix the current generation.
func Promote(deployTo, suffix string) *platform.Command {
	return script(promoteScript, deployTo, suffix)
}

// staleFunc defines stale PID TYPE: true when /proc shows a live process
// PID that plat did not start as a TYPE process (a pid reused after a
// restart); false when it is one, or is gone, or /proc cannot tell.
const staleFunc = `stale() { [ -r "/proc/$1/environ" ] && ! tr '\0' '\n' < "/proc/$1/environ" 2>/dev/null | grep -qx "PLAT_PROCESS=$2"; }`

// psScript prints one line per process: type, pid, running|dead (a stale
// pid file, see stopScript, is dead), and when it started (the pid file's
// mtime, Unix seconds).
const psScript = staleFunc + `
cd "$1/.plat/pids" 2>/dev/null || exit 0
for f in *.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$p/status" && ! stale "$p" "${f%.pid}"; then s=running; else s=dead; fi
  echo "${f%.pid} $p $s $(stat -c %Y "$f" 2>/dev/null || echo 0)"
done
`

// Processes lists supervised processes.
func Processes(deployTo string) *platform.Command { return script(psScript, deployTo) }

// Process is one line of Processes' output.
type Process struct {
	Type    string
	PID     int
	Running bool
	// Since is when the process started (zero if unknown).
	Since time.Time `json:",omitzero"`
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

// logsScript prints (or follows) process logs.
const logsScript = `cd "$1/.plat/logs" 2>/dev/null || exit 0
n=$2; follow=$3; shift 3
[ $# -gt 0 ] || set -- *.log
[ -e "$1" ] || exit 0
if [ "$follow" = 1 ]; then exec tail -n "$n" -F "$@"; else exec tail -n "$n" "$@"; fi
`

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

// inDirScript runs argv in directory $1 with its .profile.d scripts
// sourced, by bash where the host has it.
const inDirScript = `cd "$1" || exit 1; shift; ` + PickShell + `; exec "$shell" -c '` + SourceSecrets + `; ` + SourceProfile + `; exec "$@"' "$shell" "$@"`

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

// InCurrent runs argv in the current release with the .profile.d scripts
// sourced, or in deployTo itself when no release is current yet (hooks of
// a host's first push).
func InCurrent(deployTo string, argv []string) *platform.Command {
	return script(`cd "$1" || exit 1; shift; if [ -d current ]; then cd current || exit 1; `+PickShell+`; exec "$shell" -c '`+SourceProfile+`; exec "$@"' "$shell" "$@"; fi; exec "$@"`,
		append([]string{deployTo}, argv...)...)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
