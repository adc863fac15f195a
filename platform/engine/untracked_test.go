package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUntrackedFiles(t *testing.T) {
	dir := t.TempDir()
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.org", "GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.org")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name string, size int) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitRun("init", "-q", "-b", "main")
	write("app.py", 10)
	write(".gitignore", 0)
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun("add", "-A")
	gitRun("commit", "-q", "-m", "app")

	ctx := context.Background()
	if got := untrackedFiles(ctx, dir); len(got) != 0 {
		t.Fatalf("a clean tree has untracked files: %v", got)
	}
	write("data/big.bin", 3<<20)
	write("notes.txt", 2048)
	write("a b.txt", 5)
	write("z.txt", 5)
	write("debug.log", 1<<20)       // ignored: not warned about
	write(".plat/store/x.json", 10) // plat's own state
	got := untrackedFiles(ctx, dir)
	var paths []string
	for _, f := range got {
		paths = append(paths, f.path)
	}
	if want := "data/big.bin notes.txt a b.txt z.txt"; strings.Join(paths, " ") != want {
		t.Fatalf("untracked = %q, want %q (biggest first, ignored and .plat left out)", paths, want)
	}
	warn := untrackedWarning(got)
	if want := "warning: 4 untracked files are not in the release (git add or .gitignore them): data/big.bin (3.0 MiB), notes.txt (2 KiB), a b.txt (5 B) and 1 more"; warn != want {
		t.Errorf("warning:\n got %q\nwant %q", warn, want)
	}
	if strings.Contains(warn, "\n") {
		t.Errorf("the warning is more than one line: %q", warn)
	}
	if w := untrackedWarning(got[:1]); !strings.HasPrefix(w, "warning: 1 untracked file is not in the release") {
		t.Errorf("one file: %q", w)
	}
	// Run from a subdirectory (an app inside a bigger repository), paths
	// are the app's.
	write("sub/plat.hcl", 1)
	write("sub/new.txt", 1)
	got = untrackedFiles(ctx, filepath.Join(dir, "sub"))
	if len(got) != 2 || got[0].path != "new.txt" && got[0].path != "plat.hcl" {
		t.Errorf("from sub/: %v", got)
	}
	// Not a repository: nothing, no error.
	if got := untrackedFiles(ctx, t.TempDir()); got != nil {
		t.Errorf("outside git: %v", got)
	}
}
