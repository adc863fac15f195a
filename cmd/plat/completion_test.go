package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/release"
)

const completionHCL = `
app "shop" {
  task "tests" {
    when = "build"
    run  = ["python3", "-m", "unittest"]
  }
  task "migrate" {
    when = "release"
    run  = ["python3", "migrate.py"]
  }
}

environment "local" {
  provider "local" {}
  cluster "web" { count = 2 }
}

environment "prod" {
  provider "ssh" { user = "deploy" }
  deploy_to = "/srv/shop"
  cluster "web" {
    hosts = ["web[1:3].example.org"]
    roles = ["web", "migrate"]
  }
  cluster "worker" {
    hosts = ["jobs1.example.org"]
    roles = ["jobs"]
  }
}
`

// completionProjectDir writes plat.hcl and records releases r1 and r2 of
// local in the local store, as pushes would.
func completionProjectDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(completionHCL), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := t.TempDir()
	if err := os.WriteFile(filepath.Join(tree, "app.py"), []byte("print('hi')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := release.Scan(tree, release.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	store := &release.Store{Root: filepath.Join(dir, ".plat", "store")}
	for i, msg := range []string{"first", "fix checkout"} {
		r := &release.Release{ID: release.ID(i + 1), Env: "local", App: "shop", GitSHA: "0123456789abcdef", Message: msg,
			Time: time.Date(2026, 12, 1, 10, i, 0, 0, time.UTC), ManifestHash: m.Hash()}
		if err := store.Record(r, m); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// complete runs plat's hidden __complete command (what the shell scripts
// cobra generates call) and returns the candidates without descriptions
// and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	code, out, errOut := runMain(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d: %s", args, code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	directive := lines[len(lines)-1]
	var names []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names, directive
}

func TestCompletion(t *testing.T) {
	dir := completionProjectDir(t)
	noFile := ":4" // cobra.ShellCompDirectiveNoFileComp
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"push", ""}, []string{"local", "prod"}},
		{[]string{"push", "pr"}, []string{"prod"}},
		{[]string{"push", "local", ""}, nil}, // push takes one argument
		{[]string{"env", "diff", "local", ""}, []string{"local", "prod"}},
		{[]string{"run", "prod", ""}, []string{"tests", "migrate"}},
		{[]string{"run", "prod", "mi"}, []string{"migrate"}},
		{[]string{"rollback", "local", ""}, []string{"r2", "r1"}}, // newest first
		{[]string{"diff", "local", "r2", ""}, []string{"r2", "r1"}},
		{[]string{"rollback", "prod", ""}, nil}, // no release of prod recorded here
		{[]string{"lock", "prod", ""}, []string{"status", "break"}},
		{[]string{"ssh-config", "prod", "j"}, []string{"jobs1.example.org"}},
		{[]string{"exec", "prod", "--host", ""}, []string{"web1.example.org", "web2.example.org", "web3.example.org", "jobs1.example.org"}},
		{[]string{"logs", "prod", "--host", "web1.example.org,web"}, []string{"web1.example.org,web1.example.org", "web1.example.org,web2.example.org", "web1.example.org,web3.example.org"}},
		{[]string{"ps", "local", "--host", ""}, []string{"web1", "web2"}},
		{[]string{"restart", "prod", "--role", ""}, []string{"web", "migrate", "jobs"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, directive := complete(t, append([]string{"-C", dir}, tc.args...)...)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if directive != noFile {
				t.Errorf("directive %q, want %q (no file names)", directive, noFile)
			}
		})
	}
	// Descriptions say what a name is.
	_, out, _ := runMain(t, "-C", dir, "__complete", "push", "")
	if !strings.Contains(out, "prod\tssh, 4 hosts\n") || !strings.Contains(out, "local\tlocal, 2 hosts\n") {
		t.Errorf("environment descriptions missing:\n%s", out)
	}
	_, out, _ = runMain(t, "-C", dir, "__complete", "rollback", "local", "")
	if !strings.Contains(out, "r2\t") || !strings.Contains(out, "0123456 fix checkout") {
		t.Errorf("release description missing:\n%s", out)
	}
}

// A broken or missing plat.hcl completes nothing and prints no error.
func TestCompletionWithoutProject(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"", "app {"} {
		if content != "" {
			if err := os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		code, out, errOut := runMain(t, "-C", dir, "__complete", "push", "")
		if code != 0 || out != ":4\n" {
			t.Errorf("plat.hcl %q: exit %d, stdout %q", content, code, out)
		}
		if strings.Contains(errOut, "Error") {
			t.Errorf("plat.hcl %q: stderr %q", content, errOut)
		}
	}
}

// Every command whose first argument is an environment completes it.
func TestEveryEnvCommandCompletes(t *testing.T) {
	root := newRootCommand(&app{})
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		if fields := strings.Fields(c.Use); len(fields) > 1 && fields[1] == "ENV" && c.ValidArgsFunction == nil {
			t.Errorf("%s takes ENV but completes nothing (add it to completedArgs)", c.CommandPath())
		}
		for _, s := range c.Commands() {
			visit(s)
		}
	}
	visit(root)
	for path := range completedArgs {
		if c, _, err := root.Find(strings.Fields(path)[1:]); err != nil || c.CommandPath() != path {
			t.Errorf("completedArgs names %q, which is no command", path)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	dir := completionProjectDir(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "prdo"}, `unknown environment "prdo"; did you mean "prod"? (defined: local, prod)`},
		{[]string{"env", "show", "locla"}, `unknown environment "locla"; did you mean "local"? (defined: local, prod)`},
		{[]string{"push", "staging"}, `unknown environment "staging" (defined: local, prod)`}, // nothing close
		{[]string{"exec", "prod", "--host", "web4.example.org", "--", "true"}, `environment prod has no host "web4.example.org"; did you mean "web1.example.org"?`},
		{[]string{"logs", "local", "--host", "wbe2"}, `environment local has no host "wbe2"; did you mean "web2"?`},
		{[]string{"run", "local", "migrat"}, `unknown task "migrat"; did you mean "migrate"? (defined: tests, migrate)`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runMain(t, append([]string{"-C", dir}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, errOut, tc.want)
			}
		})
	}
}
