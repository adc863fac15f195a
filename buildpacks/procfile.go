package buildpacks

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ReleaseProcess is the process type the engine runs once per push as a
// release task (migrations), on one host, before any switch.
const ReleaseProcess = "release"

var processTypeRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ParseProcfile reads a Procfile: one `type: command` per line; blank
// lines and lines starting with # are skipped. A malformed line, an empty
// command or a type given twice is an error naming the line.
func ParseProcfile(r io.Reader) (map[string]string, error) {
	procs := map[string]string{}
	first := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		typ, cmd, ok := strings.Cut(line, ":")
		typ, cmd = strings.TrimSpace(typ), strings.TrimSpace(cmd)
		switch {
		case !ok || !processTypeRE.MatchString(typ):
			return nil, fmt.Errorf("parse Procfile line %d: %q is not `type: command` (type is letters, digits, - and _)", n, line)
		case cmd == "":
			return nil, fmt.Errorf("parse Procfile line %d: process type %q has no command", n, typ)
		case first[typ] != 0:
			return nil, fmt.Errorf("parse Procfile line %d: process type %q already defined on line %d", n, typ, first[typ])
		}
		first[typ] = n
		procs[typ] = cmd
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read Procfile: %w", err)
	}
	return procs, nil
}

// formatProcfile renders process types sorted by type, so the same
// processes always give the same bytes.
func formatProcfile(procs map[string]string) []byte {
	types := make([]string, 0, len(procs))
	for t := range procs {
		types = append(types, t)
	}
	sort.Strings(types)
	var b bytes.Buffer
	for _, t := range types {
		fmt.Fprintf(&b, "%s: %s\n", t, procs[t])
	}
	return b.Bytes()
}

// readProcfile parses dir/Procfile; a missing one is no processes.
func readProcfile(dir string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(dir, "Procfile"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open Procfile: %w", err)
	}
	defer f.Close()
	procs, err := ParseProcfile(f)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, f.Name())
	}
	return procs, nil
}

// ProfileScript is the POSIX shell snippet a host runs, in the release
// directory, before it starts a process or task of the release: it sources
// the .profile.d scripts that buildpacks wrote.
func ProfileScript() string {
	return `for f in .profile.d/*.sh; do [ -r "$f" ] && . "$f"; done`
}
