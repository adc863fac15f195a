package environments

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: any plat.hcl either loads into a project or gives
// diagnostics, each with a summary and (for errors in the file) a range
// in it; never a panic, never both a project and errors.
func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		names, _ := filepath.Glob(filepath.Join("testdata", dir, "*.hcl"))
		for _, n := range names {
			if b, err := os.ReadFile(n); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("app \"a\" {}\nenvironment \"e\" {\n  provider \"local\" {}\n  cluster \"web\" { hosts = [\"w[1:3]\"] }\n}\n"))
	f.Add([]byte("app \"a\" {}\nenvironment \"e\" { inherits = \"e\" }\n"))
	f.Add([]byte("shared \"ops\" { path = \"../../examples/ops\" }\napp \"a\" {}\nenvironment \"e\" { inherits = \"ops.generic-prod\" }\n"))
	f.Add([]byte("shared \"ops\" { git = \"git::file:///nonexistent?ref=v1\" }\napp \"a\" {}\nenvironment \"e\" { inherits = \"ops.x\" }\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, DefaultFile), src, 0o644); err != nil {
			t.Fatal(err)
		}
		// Offline: a fuzzed shared "x" { git = "…" } must not fetch.
		p, _, diags := Load(Options{Dir: dir, Offline: true, CacheDir: filepath.Join(dir, "cache")})
		if diags.HasErrors() {
			for _, d := range diags {
				if strings.TrimSpace(d.Summary) == "" {
					t.Fatalf("diagnostic without a summary: %+v", d)
				}
			}
			return
		}
		if p == nil {
			t.Fatalf("no project and no error diagnostics")
		}
	})
}
