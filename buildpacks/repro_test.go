package buildpacks

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/plat-sh/plat/platform"
)

// TestReproducible builds each app twice, in two copies at different
// paths with separate caches, and compares every file's content hash and
// mode and every symlink's target.
func TestReproducible(t *testing.T) {
	wheels := filepath.Join(t.TempDir(), "wheelhouse")
	buildWheel(t, wheels)
	tests := []struct {
		app string
		env map[string]string
	}{
		{"go-sync", goTestEnv(t)},
		{"python-wheel", map[string]string{"PIP_FIND_LINKS": wheels}},
		{"node-nodeps", nil},
		{"static-public", nil},
	}
	b := newTestBuilder(t, Options{})
	for _, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			one := copyApp(t, tt.app)
			two := filepath.Join(t.TempDir(), "a", "longer", "path", tt.app)
			if err := copyTree(testdataPath(t, "apps", tt.app), two); err != nil {
				t.Fatal(err)
			}
			mustBuild(t, b, &platform.BuildRequest{Dir: one, Env: tt.env})
			mustBuild(t, b, &platform.BuildRequest{Dir: two, Env: tt.env})
			d1, d2 := treeDigest(t, one), treeDigest(t, two)
			var paths []string
			for p := range d1 {
				paths = append(paths, p)
			}
			for p := range d2 {
				if _, ok := d1[p]; !ok {
					paths = append(paths, p)
				}
			}
			sort.Strings(paths)
			for _, p := range paths {
				if d1[p] != d2[p] {
					t.Errorf("%s differs:\n  %s\n  %s", p, d1[p], d2[p])
				}
			}
			if len(d1) < 3 {
				t.Fatalf("suspiciously small tree: %v", d1)
			}
		})
	}
}
