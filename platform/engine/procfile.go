package engine

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// parseProcfile reads "type: command" lines.
func parseProcfile(r io.Reader) (map[string]string, error) {
	procs := map[string]string{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		t, c, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(t) == "" || strings.TrimSpace(c) == "" {
			return nil, fmt.Errorf("Procfile line %d: want \"type: command\"", n)
		}
		procs[strings.TrimSpace(t)] = strings.TrimSpace(c)
	}
	return procs, sc.Err()
}
