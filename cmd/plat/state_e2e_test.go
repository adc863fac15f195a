package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitOut runs git in the project and returns its output.
func (p *project) gitOut(args ...string) string {
	p.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = p.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// plat's state holds the private settings in its store and a build
// checkout that is a git repository: `git add -A` must never stage it,
// and a repository that committed it before (force-added, or by an older
// plat) still pushes, with a warning, and no state reaches a release.
func TestStateCannotBeCommittedByAccident(t *testing.T) {
	p := newProject(t)
	p.mustPlat("push", "local")
	if _, err := os.Stat(filepath.Join(p.dir, ".plat", "store")); err != nil {
		t.Fatalf("the push kept no store: %v", err)
	}
	p.git("add", "-A")
	if staged := p.gitOut("diff", "--cached", "--name-only"); staged != "" {
		t.Fatalf("git add -A after a push stages plat's state:\n%s", staged)
	}
	if st := p.gitOut("status", "--porcelain"); st != "" {
		t.Fatalf("git status after a push is not clean:\n%s", st)
	}

	// A deleted .gitignore comes back on the next command.
	if err := os.Remove(filepath.Join(p.dir, ".plat", ".gitignore")); err != nil {
		t.Fatal(err)
	}
	p.mustPlat("status", "local")
	if st := p.gitOut("status", "--porcelain"); st != "" {
		t.Fatalf("git status after the .gitignore was removed and plat ran:\n%s", st)
	}

	// What an older plat let happen: the state committed, its build
	// checkout as an embedded repository.
	p.git("add", "-f", ".plat")
	p.git("commit", "-q", "-m", "oops: plat state")
	if tracked := p.gitOut("ls-files", ".plat"); !strings.Contains(tracked, ".plat/cache/checkout/local") {
		t.Fatalf("the test did not commit the build checkout:\n%s", tracked)
	}
	r := p.mustPlat("push", "local", "--force")
	if !strings.Contains(r.stdout, "git tracks") || !strings.Contains(r.stdout, "git rm -r --cached .plat") {
		t.Errorf("push does not warn about tracked state:\n%s", r.stdout)
	}
	if body := p.get(0, "/"); !strings.Contains(body, "release r2") {
		t.Fatalf("web1 serves:\n%s", body)
	}
	rel := filepath.Join(p.hostDir("web1"), "releases", "r2")
	for _, junk := range []string{".plat/store", ".plat/cache", ".plat/.gitignore"} {
		if _, err := os.Lstat(filepath.Join(rel, junk)); err == nil {
			t.Errorf("release r2 contains plat state %s", junk)
		}
	}
	p.mustPlat("status", "local", "--verify")
}
