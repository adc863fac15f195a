package buildpacks

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/plat-sh/plat/platform"
)

// ReleaseProcess is the process type the engine runs once per push as a
// release task (migrations), on one host, before any switch.
const ReleaseProcess = "release"

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
	procs, err := platform.ParseProcfile(f)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, f.Name())
	}
	return procs, nil
}
