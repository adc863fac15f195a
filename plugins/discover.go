package plugins

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Found is a plugin binary on disk.
type Found struct {
	Name string // provider name ("dirs")
	Path string // absolute path
}

// Info is what `plat plugins list` shows.
type Info struct {
	Name     string
	Version  string // "" when the plugin does not say
	Protocol int    // 0 when it could not be started
	Path     string
	// Err is why the plugin could not be started or asked (nil: fine).
	Err error
}

// SearchDirs returns where plugins are looked for, in precedence order:
// <projectDir>/.plat/plugins, ~/.plat/plugins, then $PATH. projectDir ""
// skips the first.
func SearchDirs(projectDir string) []string {
	var dirs []string
	if projectDir != "" {
		dirs = append(dirs, filepath.Join(projectDir, ".plat", "plugins"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".plat", "plugins"))
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if d == "" {
			d = "."
		}
		dirs = append(dirs, d)
	}
	return dirs
}

// Discover finds plat-provider-<name> executables in dirs; for a name
// found in several, the first dir wins. Missing or unreadable dirs are
// skipped. The result is sorted by name.
func Discover(dirs ...string) []Found {
	seen := map[string]bool{}
	var out []Found
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), BinaryPrefix) || len(e.Name()) == len(BinaryPrefix) {
				continue
			}
			name := NameOf(e.Name())
			if seen[name] {
				continue
			}
			p, err := filepath.Abs(filepath.Join(d, e.Name()))
			if err != nil || !isExecutable(p) {
				continue
			}
			seen[name] = true
			out = append(out, Found{Name: name, Path: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Find returns the path of the named provider plugin in dirs (first wins).
func Find(name string, dirs ...string) (string, error) {
	for _, d := range dirs {
		p := filepath.Join(d, BinaryPrefix+name)
		if isExecutable(p) {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("find provider %q: no %s%s in %s\nhint: install it with plat plugins install PATH|MODULE@VERSION",
		name, BinaryPrefix, name, strings.Join(dirs, ", "))
}

// isExecutable follows symlinks: a regular file with an execute bit.
func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// List discovers plugins in dirs and asks each for its version by starting
// it (with opts). A plugin that fails to start is listed with Err set; the
// error return is only for a cancelled ctx.
func List(ctx context.Context, opts Options, dirs ...string) ([]Info, error) {
	var out []Info
	for _, f := range Discover(dirs...) {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("list plugins: %w", err)
		}
		info := Info{Name: f.Name, Path: f.Path}
		c, err := Open(ctx, f.Path, opts)
		if err != nil {
			info.Err = err
		} else {
			info.Version, info.Protocol = c.Version(), c.Protocol()
			c.Close()
		}
		out = append(out, info)
	}
	return out, nil
}
