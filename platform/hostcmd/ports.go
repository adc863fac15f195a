package hostcmd

import (
	"errors"
	"strconv"
	"strings"

	"github.com/plat-sh/plat/platform"
)

// portsScript is scripts/ports.sh: the host's port registry.
var portsScript = load("ports.sh")

// ExitPortClash is PortAssign's exit code when the named port is another
// deploy_to's.
const ExitPortClash = 5

// PortLookup prints the port the host's registry in hostDir records for
// deployTo, or "-".
func PortLookup(hostDir, deployTo string) *platform.Command {
	return script(portsScript, hostDir, "lookup", deployTo, "", "", "0", "0")
}

// PortAssign records and prints deployTo's port in the host's registry:
// named when it is not 0 (exit ExitPortClash when another deploy_to holds
// it), else the one recorded before, else the lowest free one from base.
func PortAssign(hostDir, deployTo, app, env string, base, named int) *platform.Command {
	return script(portsScript, hostDir, "assign", deployTo, app, env, strconv.Itoa(base), strconv.Itoa(named))
}

// PortEntry is one line of the registry.
type PortEntry struct {
	Port     int
	App, Env string
	DeployTo string
}

// ParsePort reads PortLookup's or PortAssign's output: 0 for "-".
func ParsePort(out string) (int, error) {
	s := strings.TrimSpace(out)
	if s == "-" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 65535 {
		return 0, errors.New("the port registry printed " + strconv.Quote(s) + ", not a port")
	}
	return n, nil
}

// ParseClash reads the registry line PortAssign printed after exit
// ExitPortClash.
func ParseClash(out string) (PortEntry, bool) {
	_, rest, ok := strings.Cut(out, "clash\n")
	if !ok {
		return PortEntry{}, false
	}
	f := strings.SplitN(strings.TrimSpace(rest), " ", 4)
	if len(f) != 4 {
		return PortEntry{}, false
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return PortEntry{}, false
	}
	return PortEntry{Port: n, App: f[1], Env: f[2], DeployTo: f[3]}, true
}
