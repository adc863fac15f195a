package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform"
)

func TestViaArgs(t *testing.T) {
	a := &app{}
	root := newRootCommand(a) // binds (and resets) the global flags
	a.vars, a.json = []string{"region=phx2", "x=a b"}, true
	cmd, _, err := root.Find([]string{"push"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags([]string{"--ref", "v1", "-m", "fix -- it", "--lock-wait", "1m", "--force"}); err != nil {
		t.Fatal(err)
	}
	got, err := a.viaArgs(cmd, []string{"prod"}, &viaRequest{file: "deploy/plat.hcl", ref: "0123abc"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--file=deploy/plat.hcl", "--var=region=phx2", "--var=x=a b", "--json=true", "push",
		"--force=true", "--lock-wait=1m0s", "--message=fix -- it", "--ref=0123abc", "--", "prod"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("viaArgs =\n%q\nwant\n%q", got, want)
	}

	// The admin node finds the same command in them.
	probe := newRootCommand(&app{})
	probe.Flags().AddFlagSet(probe.PersistentFlags())
	if c, _, err := probe.Traverse(got); err != nil || c.Name() != "push" {
		t.Errorf("Traverse(%q) = %v, %v", got, c, err)
	}

	a.varFiles = []string{"prod.hcl"}
	if _, err := a.viaArgs(cmd, []string{"prod"}, &viaRequest{file: "plat.hcl"}); err == nil || !strings.Contains(err.Error(), "--var-file") {
		t.Errorf("--var-file: %v", err)
	}
}

func TestAbsoluteRemote(t *testing.T) {
	for in, want := range map[string]string{
		"git@example.org:ops/app.git":     "git@example.org:ops/app.git",
		"example.org:app.git":             "example.org:app.git",
		"https://example.org/ops/app.git": "https://example.org/ops/app.git",
		"file:///srv/git/app.git":         "file:///srv/git/app.git",
		"/srv/git/app.git":                "/srv/git/app.git",
		"../app.git":                      "/home/ada/app.git",
		"bare/app.git":                    "/home/ada/src/bare/app.git",
	} {
		if got := absoluteRemote("/home/ada/src", in); got != want {
			t.Errorf("absoluteRemote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestViaSource(t *testing.T) {
	root := t.TempDir()
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.org", "GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.org")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	repo := filepath.Join(root, "mono")
	proj := filepath.Join(repo, "apps", "blog")
	if err := os.MkdirAll(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(proj, "plat.hcl"), []byte("# blog\n"), 0o644)
	run(repo, "init", "-q", "-b", "main")
	run(repo, "add", "-A")
	run(repo, "commit", "-q", "-m", "one")
	first := run(repo, "rev-parse", "HEAD")
	run(repo, "tag", "v1")
	os.WriteFile(filepath.Join(proj, "plat.hcl"), []byte("# blog 2\n"), 0o644)
	run(repo, "commit", "-q", "-am", "two")
	head := run(repo, "rev-parse", "HEAD")

	p := &platform.Project{Dir: proj, App: &platform.App{Name: "blog"}}
	e := &platform.Environment{Name: "prod", Via: "admin1"}
	newCmd := func(a *app, args ...string) *cobra.Command {
		root := newRootCommand(a)
		cmd, _, err := root.Find([]string{"push"})
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	var stderr bytes.Buffer
	a := &app{stderr: &stderr}

	// No remote yet: a clear error with the fix.
	_, err := a.viaSource(t.Context(), newCmd(a), p, e)
	if err == nil || !strings.Contains(err.Error(), `has no remote "origin"`) || !strings.Contains(err.Error(), "git remote add origin") {
		t.Fatalf("no remote: %v", err)
	}

	run(repo, "remote", "add", "origin", "../mono.git") // a path: made absolute
	req, err := a.viaSource(t.Context(), newCmd(a), p, e)
	if err != nil {
		t.Fatal(err)
	}
	want := viaRequest{remote: filepath.Join(root, "mono.git"), commit: head, branch: "main", subdir: filepath.Join("apps", "blog"), file: "plat.hcl"}
	if *req != want {
		t.Errorf("viaSource = %+v, want %+v", *req, want)
	}

	// --ref is resolved here, to a commit the admin node checks out.
	a = &app{stderr: &stderr}
	req, err = a.viaSource(t.Context(), newCmd(a, "--ref", "v1"), p, e)
	if err != nil || req.commit != first || req.ref != first || req.branch != "" {
		t.Errorf("--ref v1: %+v %v", req, err)
	}
	a = &app{stderr: &stderr}
	if _, err := a.viaSource(t.Context(), newCmd(a, "--ref", "nope"), p, e); err == nil || !strings.Contains(err.Error(), "no such commit") {
		t.Errorf("--ref nope: %v", err)
	}

	// Uncommitted changes are not pushed, and plat says so; a project
	// file that is not committed cannot be read there.
	os.WriteFile(filepath.Join(proj, "plat.hcl"), []byte("# changed\n"), 0o644)
	stderr.Reset()
	if _, err := a.viaSource(t.Context(), newCmd(a), p, e); err != nil || !strings.Contains(stderr.String(), "uncommitted changes are not in it") {
		t.Errorf("dirty tree: %v; stderr %q", err, stderr.String())
	}
	os.WriteFile(filepath.Join(proj, "alt.hcl"), []byte("# alt\n"), 0o644)
	a = &app{stderr: &stderr}
	cmd := newCmd(a)
	a.file = "alt.hcl" // after newRootCommand, which binds (and resets) -f
	if _, err := a.viaSource(t.Context(), cmd, p, e); err == nil || !strings.Contains(err.Error(), "apps/blog/alt.hcl is not committed") {
		t.Errorf("uncommitted project file: %v", err)
	}

	// A remote URL with a token is refused, without printing the token.
	run(repo, "remote", "set-url", "origin", "https://ci:t0ken@git.example.org/mono.git")
	a = &app{stderr: &stderr}
	if _, err := a.viaSource(t.Context(), newCmd(a), p, e); err == nil || strings.Contains(err.Error(), "t0ken") {
		t.Errorf("remote with a token: %v", err)
	}
}
