package platform

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

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
		case !ok || !ValidProcessType(typ):
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

// ValidProcessType reports whether t is a process type name: one or more
// ASCII letters, digits, - and _.
func ValidProcessType(t string) bool {
	if t == "" {
		return false
	}
	for _, c := range t {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}
