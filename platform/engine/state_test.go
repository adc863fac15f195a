package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureStateDirKeepsStateOutOfGit(t *testing.T) {
	repo := t.TempDir()
	gitIn := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	gitIn(repo, "init", "-q")
	state := filepath.Join(repo, ".plat")
	wrote, err := EnsureStateDir(state)
	if err != nil || !wrote {
		t.Fatalf("EnsureStateDir = %v, %v; want it to write the .gitignore", wrote, err)
	}
	if wrote, err := EnsureStateDir(state); err != nil || wrote {
		t.Fatalf("second EnsureStateDir = %v, %v; want no write", wrote, err)
	}
	for name, content := range map[string]string{
		"store/objects/ab/cdef":     "SECRET_KEY=x",
		"store/local/r1/meta.json":  "{}",
		"local/local/web1/current":  "r1",
		"plugins.lock.hcl":          "# checksums",
		"cache/checkout/local/file": "x",
	} {
		path := filepath.Join(state, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(filepath.Join(state, "cache", "checkout", "local"), "init", "-q")
	gitIn(repo, "add", "-A")
	if staged := strings.Fields(gitIn(repo, "diff", "--cached", "--name-only")); len(staged) != 1 || staged[0] != ".plat/plugins.lock.hcl" {
		t.Fatalf("git add -A staged %q; want only .plat/plugins.lock.hcl (it pins checksums, meant to be committed)", staged)
	}

	// A changed .gitignore is put back.
	if err := os.WriteFile(filepath.Join(state, ".gitignore"), []byte("!*\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if wrote, err := EnsureStateDir(state); err != nil || !wrote {
		t.Fatalf("EnsureStateDir after a change = %v, %v; want a rewrite", wrote, err)
	}
}

func TestStateOrVCS(t *testing.T) {
	for path, want := range map[string]bool{
		".plat/cache/checkout/local": true,
		"app/.plat/x":                true,
		"vendor/.git":                true,
		"vendor/lib":                 false,
		"platform":                   false,
	} {
		if got := stateOrVCS(path); got != want {
			t.Errorf("stateOrVCS(%q) = %v, want %v", path, got, want)
		}
	}
}
