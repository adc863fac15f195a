package environments

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/plat-sh/plat/platform"
)

// The ops definitions of these tests: a base environment, a generic
// cluster and a prod that uses it. Line numbers matter (diagnostics).
const opsEnvironments = `environment "generic" {
  provider "ssh" {
    user = "deploy"
  }
  deploy_to = "/data/${env.name}/www/${app.name}"
}

environment "generic-prod" {
  inherits = "generic"
  cluster "web" {
    use = "generic"
  }
}
`

const opsClusters = `cluster "generic" {
  hosts = ["generic[1:2].example.org"]
  roles = ["web"]
}
`

// writeFiles writes name -> content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// opsRepo is a real git repository of ops definitions.
type opsRepo struct {
	t   *testing.T
	dir string
}

func newOpsRepo(t *testing.T, files map[string]string) *opsRepo {
	t.Helper()
	r := &opsRepo{t: t, dir: filepath.Join(t.TempDir(), "ops")}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("init", "-q", "-b", "main")
	r.commit(files)
	return r
}

func (r *opsRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ops", "GIT_AUTHOR_EMAIL=ops@example.org",
		"GIT_COMMITTER_NAME=Ops", "GIT_COMMITTER_EMAIL=ops@example.org")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files, commits them and returns the commit.
func (r *opsRepo) commit(files map[string]string) string {
	r.t.Helper()
	writeFiles(r.t, r.dir, files)
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "ops")
	return r.git("rev-parse", "HEAD")
}

func (r *opsRepo) url(ref string) string { return "git::file://" + r.dir + "?ref=" + ref }

// sharedProject writes a project whose plat.hcl is src and returns its dir.
func sharedProject(t *testing.T, src string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	writeFiles(t, dir, map[string]string{"plat.hcl": src})
	return dir
}

func loadShared(t *testing.T, dir, cache string, mod func(*Options)) (*platform.Project, *Files, hcl.Diagnostics) {
	t.Helper()
	o := Options{Dir: dir, Providers: testProviders(), CacheDir: cache}
	if mod != nil {
		mod(&o)
	}
	return Load(o)
}

// noErrors fails on any error diagnostic, printing all of them.
func noErrors(t *testing.T, files *Files, diags hcl.Diagnostics) {
	t.Helper()
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = WriteDiagnostics(&b, files, diags, 0, false)
		t.Fatalf("unexpected errors:\n%s", b.String())
	}
}

// errorText renders the diagnostics as plat prints them.
func errorText(t *testing.T, files *Files, diags hcl.Diagnostics) string {
	t.Helper()
	var b bytes.Buffer
	_ = WriteDiagnostics(&b, files, diags, 0, false)
	return b.String()
}

func appHCL(shared, envs string) string {
	return shared + "\napp \"blog\" {}\n\n" + envs
}

const prodInheritsOps = `environment "prod" {
  inherits      = "ops.generic-prod"
  keep_releases = 3
}
`

func TestSharedPathSource(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "ops"), map[string]string{
		"environments.hcl": opsEnvironments, "clusters.hcl": opsClusters,
		"README.md": "not read", "apps/other.hcl": "not read either {",
	})
	dir := filepath.Join(root, "app")
	writeFiles(t, dir, map[string]string{"plat.hcl": appHCL(`shared "ops" {
  path = "../ops"
}
`, prodInheritsOps)})
	p, files, diags := loadShared(t, dir, t.TempDir(), nil)
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", errorText(t, files, diags))
	}
	e := env(t, p, "prod")
	eq(t, "hosts", hostNames(e), []string{"generic1.example.org", "generic2.example.org"})
	eq(t, "provider", e.Provider.Type, "ssh")
	eq(t, "deploy_to (evaluated in the app's environment)", e.DeployTo, "/data/prod/www/blog")
	eq(t, "keep_releases (the app's own)", e.KeepReleases, 3)
	eq(t, "roles", e.Hosts()[0].Roles, []string{"web"})
	eq(t, "cluster name (the using block's)", e.Clusters[0].Name, "web")
	// Only the app's environments are deployable.
	eq(t, "environments", len(p.Environments), 1)
	srcs := files.Sources()
	eq(t, "sources", len(srcs), 1)
	eq(t, "files read", srcs[0].Files, []string{"clusters.hcl", "environments.hcl"})
	if _, err := os.Stat(filepath.Join(dir, "plat.lock.hcl")); err == nil {
		t.Error("a path source wrote a lock file")
	}
}

func TestSharedGitSourceLockAndUpdate(t *testing.T) {
	repo := newOpsRepo(t, map[string]string{"environments.hcl": opsEnvironments, "clusters.hcl": opsClusters})
	first := repo.git("rev-parse", "HEAD")
	repo.git("tag", "v3")
	dir := sharedProject(t, appHCL(`shared "ops" {
  git = "`+repo.url("v3")+`"
}
`, prodInheritsOps))
	cache := t.TempDir()

	// First load: fetched, pinned, told.
	p, files, diags := loadShared(t, dir, cache, nil)
	noErrors(t, files, diags)
	if len(diags) != 1 || diags[0].Summary != "Shared source pinned" {
		t.Fatalf("want one pinned warning, got:\n%s", errorText(t, files, diags))
	}
	if !files.LockWritten() {
		t.Error("LockWritten() = false on the first fetch")
	}
	lock, err := os.ReadFile(filepath.Join(dir, "plat.lock.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lock), `commit = "`+first+`"`) || !strings.Contains(string(lock), `git    = "`+repo.url("v3")+`"`) {
		t.Fatalf("lock file:\n%s", lock)
	}
	eq(t, "hosts", hostNames(env(t, p, "prod")), []string{"generic1.example.org", "generic2.example.org"})
	if src := files.Sources()[0]; src.Commit != first || src.Previous != "" || !strings.HasPrefix(src.Dir, cache) {
		t.Errorf("source = %+v", src)
	}

	// Ops move v3 to a commit with a third host.
	second := repo.commit(map[string]string{"clusters.hcl": strings.Replace(opsClusters, "[1:2]", "[1:3]", 1)})
	repo.git("tag", "-f", "v3")

	// The lock holds: the cached, locked commit loads without the
	// remote (moved away to prove it), and nothing is written.
	moved := repo.dir + ".away"
	if err := os.Rename(repo.dir, moved); err != nil {
		t.Fatal(err)
	}
	p, files, diags = loadShared(t, dir, cache, nil)
	if len(diags) > 0 {
		t.Fatalf("locked load: %s", errorText(t, files, diags))
	}
	eq(t, "hosts at the locked commit", len(env(t, p, "prod").Hosts()), 2)
	if files.LockWritten() {
		t.Error("a locked load wrote the lock file")
	}
	// Offline too (shell completion).
	_, files, diags = loadShared(t, dir, cache, func(o *Options) { o.Offline = true })
	noErrors(t, files, diags)
	if err := os.Rename(moved, repo.dir); err != nil {
		t.Fatal(err)
	}

	// plat env update moves the pin.
	p, files, diags = loadShared(t, dir, cache, func(o *Options) { o.Update = []string{"ops"} })
	noErrors(t, files, diags)
	src := files.Sources()[0]
	eq(t, "previous", src.Previous, first)
	eq(t, "commit", src.Commit, second)
	eq(t, "hosts after update", len(env(t, p, "prod").Hosts()), 3)
	lock, _ = os.ReadFile(filepath.Join(dir, "plat.lock.hcl"))
	if !strings.Contains(string(lock), second) || strings.Contains(string(lock), first) {
		t.Fatalf("lock after update:\n%s", lock)
	}
}

func TestSharedGitMovedRefIsAnError(t *testing.T) {
	repo := newOpsRepo(t, map[string]string{"environments.hcl": opsEnvironments, "clusters.hcl": opsClusters})
	dir := sharedProject(t, appHCL(`shared "ops" {
  git = "`+repo.url("main")+`"
}
`, prodInheritsOps))
	_, files, diags := loadShared(t, dir, t.TempDir(), nil)
	noErrors(t, files, diags)
	first := files.Sources()[0].Commit
	second := repo.commit(map[string]string{"clusters.hcl": opsClusters + "\n# moved\n"})

	// A fresh machine (empty cache) fetches main: it names another
	// commit than the lock's.
	_, files, diags = loadShared(t, dir, t.TempDir(), nil)
	text := errorText(t, files, diags)
	if !diags.HasErrors() || !strings.Contains(text, "Shared source moved") || !strings.Contains(text, "plat env update ops") ||
		!strings.Contains(text, short(first)) || !strings.Contains(text, short(second)) {
		t.Fatalf("want a moved-ref error naming both commits and plat env update:\n%s", text)
	}
	lock, _ := os.ReadFile(filepath.Join(dir, "plat.lock.hcl"))
	if !strings.Contains(string(lock), first) {
		t.Errorf("the error moved the pin:\n%s", lock)
	}

	// plat.hcl names another ref: the lock is out of date.
	writeFiles(t, dir, map[string]string{"plat.hcl": appHCL(`shared "ops" {
  git = "`+repo.url("v4")+`"
}
`, prodInheritsOps)})
	_, files, diags = loadShared(t, dir, t.TempDir(), nil)
	if text := errorText(t, files, diags); !strings.Contains(text, "Lock file out of date") || !strings.Contains(text, "plat.hcl line 2") ||
		strings.Contains(text, "Unknown parent environment") {
		t.Fatalf("want a lock-out-of-date error at plat.hcl:2:\n%s", text)
	}
}

func TestSharedUpdateKeepsThePinWhenTheProjectBreaks(t *testing.T) {
	repo := newOpsRepo(t, map[string]string{"environments.hcl": opsEnvironments, "clusters.hcl": opsClusters})
	dir := sharedProject(t, appHCL(`shared "ops" {
  git = "`+repo.url("main")+`"
}
`, prodInheritsOps))
	cache := t.TempDir()
	_, files, diags := loadShared(t, dir, cache, nil)
	noErrors(t, files, diags)
	first := files.Sources()[0].Commit
	repo.commit(map[string]string{"clusters.hcl": `cluster "renamed" {
  count = 2
}
`})
	_, files, diags = loadShared(t, dir, cache, func(o *Options) { o.UpdateAll = true })
	if text := errorText(t, files, diags); !strings.Contains(text, "Unknown shared cluster") {
		t.Fatalf("want the new commit's error:\n%s", text)
	}
	if files.LockWritten() {
		t.Error("a failed update wrote the lock")
	}
	lock, _ := os.ReadFile(filepath.Join(dir, "plat.lock.hcl"))
	if !strings.Contains(string(lock), first) {
		t.Errorf("lock:\n%s", lock)
	}
}

func TestSharedDiagnosticsPointIntoTheSharedFile(t *testing.T) {
	// Line 3, column 11 is the bad count.
	repo := newOpsRepo(t, map[string]string{"environments.hcl": opsEnvironments, "clusters.hcl": `cluster "generic" {
  roles = ["web"]
  count = "many"
}
`})
	dir := sharedProject(t, appHCL(`shared "ops" {
  git = "`+repo.url("main")+`"
}
`, prodInheritsOps))
	_, files, diags := loadShared(t, dir, t.TempDir(), nil)
	commit := files.Sources()[0].Commit
	var bad *hcl.Diagnostic
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			bad = d
		}
	}
	if bad == nil || bad.Subject == nil {
		t.Fatalf("no error:\n%s", errorText(t, files, diags))
	}
	name := "ops@" + commit[:7] + ":clusters.hcl"
	eq(t, "file", bad.Subject.Filename, name)
	eq(t, "line", bad.Subject.Start.Line, 3)
	eq(t, "column", bad.Subject.Start.Column, 11)
	text := errorText(t, files, diags)
	for _, want := range []string{"on " + name + " line 3", `count = "many"`, filepath.Join(files.Sources()[0].Dir, "clusters.hcl")} {
		if !strings.Contains(text, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, text)
		}
	}
}

func TestSharedEnvironmentsCannotSetPrivateSecretsOrHooks(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "ops"), map[string]string{"environments.hcl": `environment "generic" {
  provider "local" {}
  private = "/etc/ops-secrets"
  secret "DATABASE_URL" {
    env = "OPS_DB"
  }
  hook "before_push" {
    run = ["sh", "-c", "curl ops.example.org | sh"]
  }
  cluster "web" {
    count = 1
  }
}

variable "region" {}
`})
	dir := filepath.Join(root, "app")
	writeFiles(t, dir, map[string]string{"plat.hcl": appHCL(`shared "ops" {
  path = "../ops"
}
`, `environment "dev" {
  inherits = "ops.generic"
}
`)})
	p, files, diags := loadShared(t, dir, t.TempDir(), nil)
	text := errorText(t, files, diags)
	for _, want := range []string{"cannot set private", "cannot declare a secret block", "cannot declare a hook block", "a variable block belongs in the app's plat.hcl",
		filepath.Join("ops", "environments.hcl") + " line 3", "line 4", "line 7"} {
		if !strings.Contains(text, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, text)
		}
	}
	if p != nil {
		if e := p.Environment("dev"); e != nil && (e.Private != "" || len(e.Secrets) > 0 || len(e.Hooks) > 0) {
			t.Errorf("a shared environment set private/secrets/hooks: %+v", e)
		}
	}
}

func TestSharedEnvNeverOverridesTheApps(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "ops"), map[string]string{"environments.hcl": `environment "generic" {
  provider "local" {}
  env = {
    RACK_ENV     = "production"
    DATABASE_URL = "postgres://ops-default"
  }
  cluster "web" {
    count = 1
  }
}
`})
	dir := filepath.Join(root, "app")
	writeFiles(t, dir, map[string]string{"plat.hcl": `shared "ops" {
  path = "../ops"
}

app "blog" {
  env = {
    DATABASE_URL = "postgres://blog"
  }
}

environment "dev" {
  inherits = "ops.generic"
}
`})
	p, files, diags := loadShared(t, dir, t.TempDir(), nil)
	noErrors(t, files, diags)
	got := mergedEnv(p.App, env(t, p, "dev"))
	eq(t, "env", got, map[string]string{"RACK_ENV": "production", "DATABASE_URL": "postgres://blog"})
}

func TestSharedInheritanceAcrossTheSource(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "ops"), map[string]string{"environments.hcl": opsEnvironments, "clusters.hcl": opsClusters})
	dir := filepath.Join(root, "app")
	writeFiles(t, dir, map[string]string{"plat.hcl": appHCL(`shared "ops" {
  path = "../ops"
}
`, `environment "prod" {
  inherits = "ops.generic-prod"
  rollout {
    stages = [1, "100%"]
  }
}

environment "canary" {
  inherits  = "prod"
  deploy_to = "/srv/canary"
  cluster "web" {
    use = "ops.generic"
  }
}

environment "bad" {
  inherits = "ops.generic-stage"
}

environment "selfish" {
  inherits = "generic"
}
`)})
	p, files, diags := loadShared(t, dir, t.TempDir(), nil)
	text := errorText(t, files, diags)
	// Names of a source need its prefix in plat.hcl.
	if !strings.Contains(text, `inherits from "ops.generic-stage", which is not declared`) || !strings.Contains(text, `inherits from "generic", which is not declared`) {
		t.Errorf("want unknown-parent errors for ops.generic-stage and generic:\n%s", text)
	}
	if p == nil {
		t.Fatal("no project")
	}
	c := env(t, p, "canary")
	eq(t, "canary deploy_to", c.DeployTo, "/srv/canary")
	eq(t, "canary provider (two levels up, in ops)", c.Provider.Type, "ssh")
	eq(t, "canary stages (from prod)", c.Rollout.Stages, []string{"1", "100%"})
	eq(t, "canary hosts", len(c.Hosts()), 2)
	eq(t, "prod deploy_to", env(t, p, "prod").DeployTo, "/data/prod/www/blog")
}

func TestSharedProvenanceInDescribe(t *testing.T) {
	repo := newOpsRepo(t, map[string]string{"environments.hcl": opsEnvironments, "clusters.hcl": opsClusters})
	dir := sharedProject(t, appHCL(`shared "ops" {
  git = "`+repo.url("main")+`"
}
`, prodInheritsOps))
	_, files, diags := loadShared(t, dir, t.TempDir(), nil)
	noErrors(t, files, diags)
	src := files.Sources()[0]
	at := "ops@" + src.Commit[:7] + ":"
	out := DescribeOrigins(files, "prod")
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		lines = append(lines, strings.Join(strings.Fields(line), " "))
	}
	flat := strings.Join(lines, "\n")
	planHCL := filepath.Join(dir, "plat.hcl")
	for _, want := range []string{
		"origins\n",
		"deploy_to " + at + "environments.hcl:5 (ops.generic)",
		"keep_releases " + planHCL + ":9 (prod)",
		"provider ssh " + at + "environments.hcl:2 (ops.generic)",
		"cluster web " + at + "clusters.hcl:1 (ops.generic-prod)",
		"inherits " + planHCL + ":8 (prod)",
		"ops " + repo.url("main") + " commit " + src.Commit + " " + src.Dir,
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("origins lack %q:\n%s", want, out)
		}
	}
	// No shared source, no origins section: env show stays as it was.
	eq(t, "origins without sources", DescribeOrigins(&Files{}, "prod"), "")
}

func TestSharedOfflineNeverFetches(t *testing.T) {
	repo := newOpsRepo(t, map[string]string{"environments.hcl": opsEnvironments, "clusters.hcl": opsClusters})
	dir := sharedProject(t, appHCL(`shared "ops" {
  git = "`+repo.url("main")+`"
}
`, prodInheritsOps))
	cache := t.TempDir()
	_, files, diags := loadShared(t, dir, cache, func(o *Options) { o.Offline = true })
	if text := errorText(t, files, diags); !strings.Contains(text, "Shared source not pinned") {
		t.Fatalf("want a not-pinned error:\n%s", text)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("an offline load touched the cache: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "plat.lock.hcl")); err == nil {
		t.Error("an offline load wrote the lock")
	}
}

func TestSharedGitCredentialsAreNeverShown(t *testing.T) {
	// Port 1 of loopback refuses the connection at once.
	dir := sharedProject(t, appHCL(`shared "ops" {
  git = "git::https://deploy:s3cr3t-t0ken@127.0.0.1:1/ops.git?ref=v3"
}
`, prodInheritsOps))
	_, files, diags := loadShared(t, dir, t.TempDir(), nil)
	text := errorText(t, files, diags)
	if !strings.Contains(text, "Cannot fetch shared source") {
		t.Fatalf("want a fetch error:\n%s", text)
	}
	// The snippet of plat.hcl is the user's own line; the messages must not repeat it.
	for _, d := range diags {
		if strings.Contains(d.Summary+d.Detail, "s3cr3t") {
			t.Errorf("a diagnostic shows the credentials: %s: %s", d.Summary, d.Detail)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"https://deploy:tok@git.example.org/ops.git", "https://***@git.example.org/ops.git"},
		{"https://ghp_token@git.example.org/ops.git", "https://***@git.example.org/ops.git"},
		{"ssh://git@git.example.org/ops.git", "ssh://git@git.example.org/ops.git"},
		{"ssh://git:pw@git.example.org/ops.git", "ssh://git:***@git.example.org/ops.git"},
		{"git@git.example.org:ops.git", "git@git.example.org:ops.git"},
		{"file:///srv/ops", "file:///srv/ops"},
	} {
		eq(t, "redact "+c.in, redactURL(c.in), c.want)
	}
}

func TestSharedGitURL(t *testing.T) {
	for _, c := range []struct {
		in, remote, ref, err string
	}{
		{"git::https://git.example.org/ops.git?ref=v3", "https://git.example.org/ops.git", "v3", ""},
		{"https://git.example.org/ops.git", "https://git.example.org/ops.git", "", ""},
		{"git::file:///srv/ops", "file:///srv/ops", "", ""},
		{"git@git.example.org:ops.git?ref=main", "git@git.example.org:ops.git", "main", ""},
		{"git::https://git.example.org/ops.git?depth=1", "", "", `unknown parameter "depth"`},
		{"git::https://git.example.org/ops.git?ref=", "", "", "ref is empty"},
		{"git::--upload-pack=evil", "", "", "may not start with '-'"},
		{"git::", "", "", "empty"},
	} {
		g, err := parseGitURL(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseGitURL(%q) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || g.remote != c.remote || g.ref != c.ref {
			t.Errorf("parseGitURL(%q) = %+v, %v", c.in, g, err)
		}
	}
}

// The layout of examples/ops, as the README's Teams section shows it.
func TestSharedExamplesOps(t *testing.T) {
	for _, c := range []struct {
		app, env string
		hosts    int
		first    string
		deployTo string
	}{
		{"blog", "prod", 4, "generic1.prod.example.org", "/data/prod/www/blog"},
		{"blog", "stage", 2, "generic1.stage.example.org", "/data/stage/www/blog"},
		{"caseconductor", "prod", 13, "cc-web01.prod.example.org", "/data/prod/www/caseconductor"},
		{"caseconductor", "stage", 2, "generic1.stage.example.org", "/data/stage/www/caseconductor"},
	} {
		p, files, diags := loadShared(t, filepath.Join("..", "examples", "ops", "apps", c.app), t.TempDir(), nil)
		if len(diags) > 0 {
			t.Fatalf("%s: %s", c.app, errorText(t, files, diags))
		}
		e := env(t, p, c.env)
		eq(t, c.app+" "+c.env+" hosts", len(e.Hosts()), c.hosts)
		eq(t, c.app+" "+c.env+" first host", e.Hosts()[0].Name, c.first)
		eq(t, c.app+" "+c.env+" deploy_to", e.DeployTo, c.deployTo)
	}
}

// Two plat processes (here: loads) fetching into one cache take turns.
func TestSharedConcurrentFetchesShareTheCache(t *testing.T) {
	repo := newOpsRepo(t, map[string]string{"environments.hcl": opsEnvironments, "clusters.hcl": opsClusters})
	want := repo.git("rev-parse", "HEAD")
	cache := t.TempDir()
	const n = 4
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = sharedProject(t, appHCL(`shared "ops" {
  git = "`+repo.url("main")+`"
}
`, prodInheritsOps))
	}
	errs := make(chan string, n)
	for _, dir := range dirs {
		go func() {
			_, files, diags := Load(Options{Dir: dir, Providers: testProviders(), CacheDir: cache})
			switch {
			case diags.HasErrors():
				errs <- errorText(t, files, diags)
			case files.Sources()[0].Commit != want:
				errs <- "commit " + files.Sources()[0].Commit
			default:
				errs <- ""
			}
		}()
	}
	for range n {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
	entries, _ := os.ReadDir(cache)
	eq(t, "one cache directory per address", len(entries), 1)
}
