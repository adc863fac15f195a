package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// opsGit is a real git repository of ops definitions, served to plat by
// a file:// URL.
type opsGit struct {
	t   *testing.T
	dir string
}

func newOpsGit(t *testing.T, files map[string]string) *opsGit {
	t.Helper()
	o := &opsGit{t: t, dir: filepath.Join(t.TempDir(), "ops")}
	if err := os.Mkdir(o.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	o.git("init", "-q", "-b", "main")
	o.commit(files)
	return o
}

func (o *opsGit) git(args ...string) string {
	o.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ops", "GIT_AUTHOR_EMAIL=ops@example.org",
		"GIT_COMMITTER_NAME=Ops", "GIT_COMMITTER_EMAIL=ops@example.org")
	out, err := cmd.CombinedOutput()
	if err != nil {
		o.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes the files, commits them and returns the commit.
func (o *opsGit) commit(files map[string]string) string {
	o.t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(o.dir, name), []byte(content), 0o644); err != nil {
			o.t.Fatal(err)
		}
	}
	o.git("add", "-A")
	o.git("commit", "-q", "-m", "ops")
	return o.git("rev-parse", "HEAD")
}

// The ops team's generic prod, on this machine: the local provider, its
// hosts counted by the shared cluster.
const opsLocalEnvironments = `environment "generic-prod" {
  provider "local" {
    base_port = var.base_port
  }
  env = {
    NOTES_DB = "../notes.sqlite3"
  }
  cluster "web" {
    use = "generic"
  }
}
`

func opsLocalClusters(n string) string {
	return "cluster \"generic\" {\n  count = " + n + "\n}\n"
}

// An app's environment "team" inherits ops.generic-prod from a git
// repository of ops definitions and pushes with it; ops then move their tag, and the app's
// pushes keep the locked commit until plat env update.
func TestSharedDefinitionsPushEndToEnd(t *testing.T) {
	ops := newOpsGit(t, map[string]string{"environments.hcl": opsLocalEnvironments, "clusters.hcl": opsLocalClusters("1")})
	ops.git("tag", "v3")
	first := ops.git("rev-parse", "HEAD")

	p := newProject(t)
	t.Cleanup(func() { p.plat("down", "team") })
	p.env = append(p.env, "XDG_CACHE_HOME="+t.TempDir())
	hcl, err := os.ReadFile(filepath.Join(p.dir, "plat.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	hcl = append(hcl, []byte(`
shared "ops" {
  git = "git::file://`+ops.dir+`?ref=v3"
}

environment "team" {
  inherits = "ops.generic-prod"
}
`)...)
	if err := os.WriteFile(filepath.Join(p.dir, "plat.hcl"), hcl, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-r", filepath.Join(p.root, "notes-private", "local"), filepath.Join(p.root, "notes-private", "team")).CombinedOutput(); err != nil {
		t.Fatalf("private settings of team: %v\n%s", err, out)
	}
	p.git("commit", "-q", "-am", "team from the ops definitions")

	// First push: the source is fetched and pinned.
	r := p.mustPlat("push", "team")
	if !strings.Contains(r.stdout, "[web1] finished: upload r1") || strings.Contains(r.stdout, "web2") {
		t.Fatalf("first push (one host):\n%s", r)
	}
	if !strings.Contains(r.stderr, "Shared source pinned") {
		t.Errorf("first push does not say it pinned the source:\n%s", r.stderr)
	}
	lockFile := filepath.Join(p.dir, "plat.lock.hcl")
	lock, err := os.ReadFile(lockFile)
	if err != nil || !strings.Contains(string(lock), first) {
		t.Fatalf("lock file (%v):\n%s", err, lock)
	}
	if body := p.get(0, "/"); !strings.Contains(body, "release r1") {
		t.Fatalf("web1 serves:\n%s", body)
	}
	p.git("add", "plat.lock.hcl")
	p.git("commit", "-q", "-m", "pin ops")

	// Ops add a host and move v3.
	second := ops.commit(map[string]string{"clusters.hcl": opsLocalClusters("2")})
	ops.git("tag", "-f", "v3")

	// The next push keeps the locked commit: still one host, no fetch
	// needed, the lock untouched.
	r = p.mustPlat("push", "team")
	if !strings.Contains(r.stdout, "[web1] finished: upload r2") || strings.Contains(r.stdout, "web2") {
		t.Fatalf("second push (locked: one host):\n%s", r)
	}
	if strings.Contains(r.stderr, "pinned") {
		t.Errorf("second push pinned again:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(p.dir, ".plat", "local", "team", "web2")); err == nil {
		t.Fatal("web2 exists before plat env update")
	}
	show := p.mustPlat("env", "show", "team")
	for _, want := range []string{"ops@" + first[:7] + ":clusters.hcl:1", "(ops.generic-prod)", "commit " + first} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("env show lacks %q:\n%s", want, show.stdout)
		}
	}

	r = p.mustPlat("--json", "env", "show", "team")
	var shown envShowDoc
	if err := decodeStrict([]byte(r.stdout), &shown); err != nil {
		t.Fatalf("env show --json: %v\n%s", err, r)
	}
	i := slices.IndexFunc(shown.Origins, func(o originJSON) bool { return o.Field == "cluster web" })
	if i < 0 || shown.Origins[i].Where != "ops@"+first[:7]+":clusters.hcl:1" || shown.Origins[i].Env != "ops.generic-prod" ||
		len(shown.Shared) != 1 || shown.Shared[0].Commit != first {
		t.Errorf("env show --json origins: %+v %+v", shown.Origins, shown.Shared)
	}

	// plat env update moves the pin and says from where to where.
	r = p.mustPlat("env", "update")
	if want := "ops: " + first[:7] + " -> " + second[:7]; !strings.Contains(r.stdout, want) {
		t.Fatalf("env update does not print %q:\n%s", want, r)
	}
	if lock, _ := os.ReadFile(lockFile); !strings.Contains(string(lock), second) {
		t.Fatalf("lock after update:\n%s", lock)
	}
	r = p.mustPlat("push", "team")
	if !strings.Contains(r.stdout, "[web2] finished: upload r3") {
		t.Fatalf("push after update (two hosts):\n%s", r)
	}
	if body := p.get(1, "/"); !strings.Contains(body, "release r3") {
		t.Fatalf("web2 serves:\n%s", body)
	}
	if r := p.mustPlat("env", "update", "ops"); !strings.Contains(r.stdout, "already v3's commit") {
		t.Errorf("second update:\n%s", r)
	}
	r = p.mustPlat("--json", "env", "update", "ops")
	var doc envUpdateDoc
	if err := decodeStrict([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("env update --json: %v\n%s", err, r)
	}
	if len(doc.Sources) != 1 || doc.Sources[0].Commit != second || doc.Sources[0].Previous != second || doc.Sources[0].Changed || doc.Sources[0].Ref != "v3" {
		t.Errorf("env update --json: %+v", doc)
	}
}

// Shell completion reads shared definitions from the cache and never
// fetches them.
func TestCompletionSharedOffline(t *testing.T) {
	ops := newOpsGit(t, map[string]string{"environments.hcl": opsLocalEnvironments, "clusters.hcl": opsLocalClusters("3")})
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(`
variable "base_port" {
  default = 8100
}

shared "ops" {
  git = "git::file://`+ops.dir+`"
}

app "shop" {}

environment "prod" {
  inherits = "ops.generic-prod"
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not fetched yet: nothing to complete, and no fetch happened.
	if got, _ := complete(t, "-C", dir, "push", ""); len(got) != 0 {
		t.Errorf("completion before any fetch: %q", got)
	}
	if entries, _ := os.ReadDir(filepath.Join(cache, "plat", "shared")); len(entries) != 0 {
		t.Fatalf("completion fetched: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "plat.lock.hcl")); err == nil {
		t.Fatal("completion wrote the lock file")
	}
	if code, _, errOut := runMain(t, "-C", dir, "validate"); code != 0 {
		t.Fatalf("validate: %d\n%s", code, errOut)
	}
	// Cached and pinned: completion works with the remote gone.
	if err := os.RemoveAll(ops.dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := complete(t, "-C", dir, "push", ""); !slices.Equal(got, []string{"prod"}) {
		t.Errorf("completion from the cache: %q", got)
	}
	if got, _ := complete(t, "-C", dir, "ps", "prod", "--host", ""); !slices.Equal(got, []string{"web1", "web2", "web3"}) {
		t.Errorf("host completion from the cache: %q", got)
	}
}
