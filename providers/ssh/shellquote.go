package ssh

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/plat-sh/plat/platform"
)

// shellquote renders argv as one POSIX shell command line in which every
// word reaches the program unchanged. It is the only place plat quotes for
// a remote shell.
func shellquote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && isShellSafe(a) {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, `'`, `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}

// isShellSafe reports whether s needs no quoting. '=' is left out so no
// word can turn into an assignment, '~' so none expands a home directory.
func isShellSafe(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_./:,+@%", r):
		default:
			return false
		}
	}
	return true
}

// becomeCd changes into $1 then runs the rest: sudo gets Dir as data, never
// as shell text, and the cd happens as the become user.
const becomeCd = `cd -- "$1" && shift && exec "$@"`

// pidMarker starts the first line of every command's stderr: the remote
// shell reports its pid, which is also the process group of everything the
// command starts (sshd puts each session in its own session and group).
// Run strips the line and uses the pid to kill the group on cancel.
const pidMarker = "plat-pid "

// pidPrefix is the shell text that prints pidMarker.
const pidPrefix = `printf 'plat-pid %s\n' "$$" >&2; `

// remoteCommand builds the command line the remote shell runs for cmd:
// `PIDPREFIX cd -- DIR && exec env K=V... ARGV` or, with become,
// `PIDPREFIX exec sudo -n -u USER -- [sh -c CD sh DIR] env K=V... ARGV`.
// exec keeps the reported pid the program's own.
func remoteCommand(cmd *platform.Command, become string) (string, error) {
	if len(cmd.Args) == 0 {
		return "", fmt.Errorf("build remote command: empty argv")
	}
	argv := cmd.Args
	if len(cmd.Env) > 0 {
		keys := make([]string, 0, len(cmd.Env))
		for k := range cmd.Env {
			if !validEnvName(k) {
				return "", fmt.Errorf("build remote command: invalid environment variable name %q", k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		env := []string{"env"}
		for _, k := range keys {
			env = append(env, k+"="+cmd.Env[k])
		}
		argv = append(env, argv...)
	}
	if become != "" {
		pre := []string{"sudo", "-n", "-u", become, "--"}
		if cmd.Dir != "" {
			pre = append(pre, "sh", "-c", becomeCd, "sh", cmd.Dir)
		}
		return pidPrefix + "exec " + shellquote(append(pre, argv...)), nil
	}
	line := "exec " + shellquote(argv)
	if cmd.Dir != "" {
		line = "cd -- " + shellquote([]string{cmd.Dir}) + " && " + line
	}
	return pidPrefix + line, nil
}

// killCommand kills the process group a command reported, as the user
// the command runs as.
func killCommand(pid int, become string) string {
	argv := []string{"kill", "-KILL", "--", "-" + strconv.Itoa(pid)}
	if become != "" {
		argv = append([]string{"sudo", "-n", "-u", become, "--"}, argv...)
	}
	return shellquote(argv)
}

func validEnvName(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
