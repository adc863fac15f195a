package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindProject(t *testing.T) {
	root := t.TempDir()
	mk := func(parts ...string) string {
		p := filepath.Join(append([]string{root}, parts...)...)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	touch := func(parts ...string) {
		if err := os.WriteFile(filepath.Join(append([]string{root}, parts...)...), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// root/app: a repository with plat.hcl; root/app/web/src a subdirectory;
	// root/app/vendor/lib: a repository of its own inside it, without one;
	// root/plat.hcl: above every repository.
	mk("app", ".git")
	mk("app", "web", "src")
	mk("app", "vendor", "lib", ".git")
	mk("app", "vendor", "lib", "pkg")
	mk("loose", "a", "b")
	touch("app", "plat.hcl")
	touch("plat.hcl")
	tests := []struct {
		name, start, file string
		dir, wantFile     string
		err               string
	}{
		{name: "here", start: "app", dir: "app", wantFile: "plat.hcl"},
		{name: "from a subdirectory", start: "app/web/src", dir: "app", wantFile: "plat.hcl"},
		{name: "-f: that file, no search", start: "app/web/src", file: "alt.hcl", dir: "app/web/src", wantFile: "alt.hcl"},
		{name: "stops at the repository's top", start: "app/vendor/lib/pkg",
			err: "no plat.hcl in ROOT/app/vendor/lib/pkg or its parents up to ROOT/app/vendor/lib (the top of its git repository)\nhint:"},
		{name: "the top itself", start: "app/vendor/lib", err: "no plat.hcl in ROOT/app/vendor/lib\n"},
		{name: "outside a repository: up to /", start: "loose/a/b", dir: ".", wantFile: "plat.hcl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := findProject(filepath.Join(root, tt.start), tt.file)
			if tt.err != "" {
				want := strings.ReplaceAll(tt.err, "ROOT", root)
				if p.err == nil || !strings.HasPrefix(p.err.Error(), want) {
					t.Fatalf("err = %v, want %q…", p.err, want)
				}
				return
			}
			if p.err != nil || p.dir != filepath.Join(root, tt.dir) || p.file != tt.wantFile {
				t.Errorf("got %+v, want dir %s file %s", p, tt.dir, tt.wantFile)
			}
		})
	}
}

func TestEnvironmentStandsInForFlags(t *testing.T) {
	dir, err := filepath.Abs("../../examples/notes")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PLAT_CHDIR", dir)
	if code, out, errs := runMain(t, "validate"); code != 0 || !strings.Contains(out, `app "notes"`) {
		t.Fatalf("PLAT_CHDIR: exit %d %s%s", code, out, errs)
	}
	t.Setenv("PLAT_JSON", "true")
	code, out, errs := runMain(t, "validate")
	var doc validateDoc
	if err := decodeStrict([]byte(out), &doc); code != 0 || err != nil || !doc.Valid {
		t.Fatalf("PLAT_JSON: exit %d %v %s", code, err, errs)
	}
	if code, out, _ := runMain(t, "--json=false", "validate"); code != 0 || !strings.HasSuffix(out, ": ok\n") {
		t.Errorf("--json=false over PLAT_JSON: %s", out)
	}
	t.Setenv("PLAT_FILE", "nope.hcl")
	if code, _, errs := runMain(t, "validate"); code != 2 || !strings.Contains(errs, "nope.hcl") {
		t.Errorf("PLAT_FILE: exit %d %s", code, errs)
	}
}

func TestDumbTerminalHasNoColour(t *testing.T) {
	t.Setenv("TERM", "dumb")
	if !dumbTerminal() {
		t.Fatal("TERM=dumb not seen")
	}
	t.Setenv("TERM", "xterm-256color")
	if dumbTerminal() {
		t.Fatal("xterm taken for dumb")
	}
}
