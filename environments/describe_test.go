package environments

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update after checking it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestDescribeGolden(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  string
	}{
		{name: "docker laptop", file: "example.hcl", env: "laptop"},
		{name: "ssh dev with host override", file: "example.hcl", env: "dev"},
		{name: "prod inherits dev", file: "example.hcl", env: "prod"},
		{name: "every attribute", file: "full.hcl", env: "base"},
		{name: "local hosts from host blocks", file: "full.hcl", env: "local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustLoad(t, filepath.Join("testdata", "valid"), tt.file)
			got := Describe(p, env(t, p, tt.env))
			golden(t, strings.TrimSuffix(tt.file, ".hcl")+"."+tt.env+".golden", got)
		})
	}
}

func TestDescribeIsDeterministic(t *testing.T) {
	p := mustLoad(t, filepath.Join("testdata", "valid"), "full.hcl")
	first := Describe(p, env(t, p, "base"))
	for i := 0; i < 20; i++ {
		p := mustLoad(t, filepath.Join("testdata", "valid"), "full.hcl")
		if got := Describe(p, env(t, p, "base")); got != first {
			t.Fatalf("run %d differs:\n%s\n---\n%s", i, got, first)
		}
	}
}

func TestDiff(t *testing.T) {
	p := mustLoad(t, filepath.Join("testdata", "valid"), "example.hcl")
	tests := []struct {
		name string
		a, b string
	}{
		{name: "dev to stage", a: "dev", b: "stage"},
		{name: "dev to prod", a: "dev", b: "prod"},
		{name: "laptop to dev", a: "laptop", b: "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "example.diff-"+tt.a+"-"+tt.b+".golden", Diff(p, env(t, p, tt.a), env(t, p, tt.b)))
		})
	}

	t.Run("fields", func(t *testing.T) {
		if d := DiffFields(p, env(t, p, "dev"), env(t, p, "dev")); len(d) != 0 {
			t.Errorf("dev vs dev: %+v", d)
		}
		d := DiffFields(p, env(t, p, "dev"), env(t, p, "stage"))
		if len(d) == 0 || d[0].Field != "inherits" || !d[0].InA || !d[0].InB || d[0].B != "dev" {
			t.Fatalf("dev vs stage: %+v", d)
		}
		onlyB := 0
		for _, f := range d {
			if !f.InA && f.InB && strings.HasPrefix(f.Field, "host ") {
				onlyB++
			}
		}
		if onlyB == 0 {
			t.Errorf("no host only stage has: %+v", d)
		}
	})
	t.Run("identical environments", func(t *testing.T) {
		got := Diff(p, env(t, p, "dev"), env(t, p, "dev"))
		eq(t, "diff", got, "--- dev\n+++ dev\n  (no differences)\n")
	})
	t.Run("only real differences", func(t *testing.T) {
		got := Diff(p, env(t, p, "dev"), env(t, p, "stage"))
		for _, same := range []string{"provider", "keep_releases", "rollout", "processes"} {
			if strings.Contains(got, "- "+same) || strings.Contains(got, "+ "+same) {
				t.Errorf("diff shows %s, which is the same in dev and stage:\n%s", same, got)
			}
		}
		for _, want := range []string{
			"- deploy_to: /data/dev/www/caseconductor\n+ deploy_to: /data/stage/www/caseconductor\n",
			"+ host stage01.example.org:",
			"- host generic2.dev.example.org:",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("diff lacks %q:\n%s", want, got)
			}
		}
	})
}
