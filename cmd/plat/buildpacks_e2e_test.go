package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of the buildpacks: small real apps, each in its own git
// repository, built here, pushed to a local environment of two hosts and
// asked over HTTP what they serve.

// bpProject makes a project at <root>/app from app trees (copied in order,
// paths relative to this package), with plat.hcl from hcl, committed.
// ports consecutive free ports are reserved from p.port (base_port).
func bpProject(t *testing.T, ports int, hcl string, trees ...string) *project {
	t.Helper()
	root := t.TempDir()
	p := &project{t: t, root: root, dir: filepath.Join(root, "app"), port: freePorts(t, ports)}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tree := range trees {
		bpCopy(t, tree, p.dir)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "plat.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("init", "-q", "-b", "main")
	p.git("add", "-A")
	p.git("commit", "-q", "-m", "app")
	t.Cleanup(func() {
		// Stop the processes the pushes started, even if the test failed.
		p.plat("down", "local")
	})
	return p
}

// bpCopy copies the contents of dir src into dst.
func bpCopy(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", src, err, out)
	}
}

// bpApp is a buildpacks/testdata app.
func bpApp(name string) string {
	return filepath.Join("..", "..", "buildpacks", "testdata", "apps", name)
}

// bpHCL is a plat.hcl for app name: appBody goes into the app block (next
// to a health check of GET /), envBody into the local environment of two
// hosts; extra is appended (more environments).
func bpHCL(name, appBody, envBody, extra string) string {
	return fmt.Sprintf(`variable "base_port" {
  type = number
}

app %q {
%s
  health {
    http     = "/"
    timeout  = "2s"
    interval = "200ms"
    retries  = 50
  }
}

environment "local" {
  provider "local" {
    base_port = var.base_port
  }
%s
  cluster "web" {
    count = 2
  }
}
%s`, name, appBody, envBody, extra)
}

// bpServes asserts that both hosts serve path with every one of wants.
func bpServes(t *testing.T, p *project, path string, wants ...string) {
	t.Helper()
	for i := 0; i < 2; i++ {
		body := p.get(i, path)
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("web%d GET %s lacks %q:\n%s", i+1, path, w, body)
			}
		}
	}
}

// bpNoRelease asserts that no host got a release.
func bpNoRelease(t *testing.T, p *project, r result) {
	t.Helper()
	if strings.Contains(r.stdout, "upload") {
		t.Errorf("the failed push uploaded:\n%s", r.stdout)
	}
	for _, h := range []string{"web1", "web2"} {
		if ents, _ := os.ReadDir(filepath.Join(p.hostDir(h), "releases")); len(ents) > 0 {
			t.Errorf("%s has releases after a failed build: %v", h, ents)
		}
	}
}

// bpUnchangedRebuild pushes the same commit again: plat sees nothing to
// push, and a forced push rebuilds and uploads nothing (the build is
// reproducible, so the manifest is the same).
func bpUnchangedRebuild(t *testing.T, p *project, next string) {
	t.Helper()
	if r := p.mustPlat("push", "local"); !strings.Contains(r.stdout, "nothing to push: every host already runs this content") {
		t.Errorf("second push of the same commit did not find the hosts up to date:\n%s", r.stdout)
	}
	r := p.mustPlat("push", "local", "--force")
	for _, h := range []string{"web1", "web2"} {
		if want := fmt.Sprintf("[%s] running: upload %s (0 files changed, 0 B)", h, next); !strings.Contains(r.stdout, want) {
			t.Errorf("forced push of the same commit: output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// bpWaitFile waits (up to 10 s) for path to contain want; processes that
// exit at once (a worker that echoes) write their log asynchronously.
func bpWaitFile(t *testing.T, path, want string) {
	t.Helper()
	var got []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got, _ = os.ReadFile(path)
		if strings.Contains(string(got), want) {
			return
		}
	}
	t.Errorf("%s lacks %q:\n%s", path, want, got)
}

// buildWheel builds buildpacks/testdata/pylib/platgreet into a wheel in dir
// with a real `pip wheel`, offline (its build backend is in its tree).
func buildWheel(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "platgreet")
	bpCopy(t, filepath.Join("..", "..", "buildpacks", "testdata", "pylib", "platgreet"), src)
	out, err := exec.Command("python3", "-m", "pip", "wheel", "--no-deps", "--no-index", "--disable-pip-version-check",
		"--wheel-dir", dir, src).CombinedOutput()
	if err != nil {
		t.Fatalf("pip wheel: %v\n%s", err, out)
	}
}

// goProxyEnv makes the go buildpack fetch modules through the module proxy
// protocol from this machine's module download cache first, then GOPROXY.
func goProxyEnv(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE", "GOPROXY").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	proxy := "file://" + filepath.Join(lines[0], "cache", "download")
	if len(lines) > 1 && lines[1] != "" && lines[1] != "off" {
		proxy += "," + lines[1]
	}
	return proxy
}

// npmReachable asks npm itself, briefly, whether its registry answers.
func npmReachable(t *testing.T) (bool, string) {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		return false, "npm is not installed"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ping", "--fetch-retries=0", "--fetch-timeout=5000")
	cmd.Env = append(os.Environ(), "NPM_CONFIG_CACHE="+t.TempDir()) // its logs stay in the test's dirs
	out, err := cmd.CombinedOutput()
	if err == nil {
		return true, ""
	}
	why := err.Error()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "reason:") {
			return false, strings.TrimSpace(l)
		}
		if strings.Contains(l, "error code") {
			why = strings.TrimSpace(l)
		}
	}
	return false, why
}

func TestBuildpacksPushLocal(t *testing.T) {
	t.Run("python without dependencies", func(t *testing.T) {
		t.Parallel()
		p := bpProject(t, 2, bpHCL("hello", "", "", ""), bpApp("python-nodeps"))
		r := p.mustPlat("push", "local")
		if !strings.Contains(r.stdout, "-----> python") {
			t.Errorf("python was not detected:\n%s", r.stdout)
		}
		bpServes(t, p, "/", "hello from python")
		// Nothing to install: no virtualenv; the default web process.
		rel := filepath.Join(p.hostDir("web1"), "releases", "r1")
		if _, err := os.Stat(filepath.Join(rel, ".venv")); err == nil {
			t.Errorf("a virtualenv was made for an app without dependencies")
		}
		if b, _ := os.ReadFile(filepath.Join(rel, "Procfile")); string(b) != "web: python3 app.py\n" {
			t.Errorf("Procfile on the host = %q", b)
		}
	})

	t.Run("python with a local wheel dir", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		buildWheel(t, filepath.Join(root, "wheels"))
		// A build task runs with the buildpack's environment: the
		// virtualenv's python3, not the build machine's.
		app := `  buildpack = "python"
  task "prefix" {
    when = "build"
    run  = ["python3", "-c", "import sys; open('build-prefix.txt', 'w').write(sys.prefix)"]
  }`
		p := bpProject(t, 2, bpHCL("greet", app, "", ""), bpApp("python-wheel"), root)
		r := p.mustPlat("push", "local")
		if b, _ := os.ReadFile(filepath.Join(p.hostDir("web1"), "releases", "r1", "build-prefix.txt")); !strings.HasSuffix(string(b), "/.venv") {
			t.Errorf("the build task ran with sys.prefix %q, not the release's virtualenv", b)
		}
		if !strings.Contains(r.stdout, "--no-index --find-links") {
			t.Errorf("pip did not install from the wheels directory only:\n%s", r.stdout)
		}
		// app.py imports platgreet, which only the virtualenv has.
		bpServes(t, p, "/", "hello from platgreet, plat")
		if m, _ := filepath.Glob(filepath.Join(p.hostDir("web2"), "releases", "r1", ".venv", "lib", "python3*", "site-packages", "platgreet", "__init__.py")); len(m) != 1 {
			t.Errorf("platgreet is not in the release's virtualenv on web2")
		}
		// One-off commands get the virtualenv too (.profile.d/python.sh).
		x := p.mustPlat("exec", "local", "--host", "web2", "--", "python3", "-c", "import platgreet; print(platgreet.__file__)")
		if want := filepath.Join(p.hostDir("web2"), "current", ".venv"); !strings.Contains(x.stdout, want) {
			t.Errorf("plat exec imports platgreet from outside %s:\n%s", want, x.stdout)
		}
		// Serving imported platgreet on the hosts: its bytecode came with
		// the release, the interpreter wrote none, nothing drifted.
		if m, _ := filepath.Glob(filepath.Join(p.hostDir("web1"), "releases", "r1", ".venv", "lib", "python3*", "site-packages", "platgreet", "__pycache__", "*.pyc")); len(m) != 1 {
			t.Errorf("platgreet's bytecode is not in the release: %v", m)
		}
		if v := p.plat("status", "local", "--verify"); v.code != 0 {
			t.Errorf("status --verify after serving requests: %s", v)
		}
		bpUnchangedRebuild(t, p, "r2")
		bpServes(t, p, "/", "hello from platgreet, plat")
		// Back on r1, which served requests: still a complete base, so
		// the next push sends nothing.
		p.mustPlat("rollback", "local", "r1")
		bpServes(t, p, "/", "hello from platgreet, plat")
		r = p.mustPlat("push", "local", "--force")
		if !strings.Contains(r.stdout, "[web1] running: upload r3 (0 files changed, 0 B)") {
			t.Errorf("a push after a rollback to a release that served re-sent files:\n%s", r.stdout)
		}
	})

	t.Run("go module from the module proxy", func(t *testing.T) {
		t.Parallel()
		env := fmt.Sprintf("  env = {\n    GOPROXY = %q\n  }", goProxyEnv(t))
		p := bpProject(t, 2, bpHCL("semverweb", "", env, ""), filepath.Join("testdata", "apps", "go-semver"))
		r := p.mustPlat("push", "local")
		if !strings.Contains(r.stdout, "-----> go") || !strings.Contains(r.stdout, "go build -trimpath") {
			t.Errorf("go was not detected or did not build:\n%s", r.stdout)
		}
		// Values computed by golang.org/x/mod/semver.
		bpServes(t, p, "/", "semver.Canonical(v1.2) = v1.2.0", "semver.Max(v1.9.0, v1.10.0) = v1.10.0")
		// The module came into the per-environment build cache.
		if _, err := os.Stat(filepath.Join(p.dir, ".plat", "cache", "build", "local", "go", "mod", "golang.org", "x", "mod@v0.42.0", "semver")); err != nil {
			t.Errorf("module not in the build cache: %v", err)
		}
		bpUnchangedRebuild(t, p, "r2")
	})

	t.Run("static site", func(t *testing.T) {
		t.Parallel()
		p := bpProject(t, 2, bpHCL("site", "", "", ""), bpApp("static-public"))
		r := p.mustPlat("push", "local")
		if !strings.Contains(r.stdout, "-----> static") {
			t.Errorf("static was not detected:\n%s", r.stdout)
		}
		bpServes(t, p, "/", "<p>hello from public/</p>")
		bpServes(t, p, "/index.html", "<title>plat static in public/</title>")
	})

	t.Run("procfile", func(t *testing.T) {
		t.Parallel()
		p := bpProject(t, 2, bpHCL("plain", "", "", ""), bpApp("procfile"))
		r := p.mustPlat("push", "local")
		if !strings.Contains(r.stdout, "-----> procfile") {
			t.Errorf("procfile was not detected:\n%s", r.stdout)
		}
		// The release process type ran once, as a release task.
		if !strings.Contains(r.stdout, "task release") || strings.Count(r.stdout, "] migrating\n") != 1 {
			t.Errorf("the release process did not run once as a task:\n%s", r.stdout)
		}
		// web: serve.sh serves the release directory on PORT.
		sha := strings.TrimSpace(p.get(0, "/REVISION"))
		bpServes(t, p, "/REVISION", sha)
		bpServes(t, p, "/", "serve.sh", "Procfile")
		if len(sha) != 40 {
			t.Errorf("REVISION = %q, want a commit sha", sha)
		}
		bpWaitFile(t, filepath.Join(p.hostDir("web2"), ".plat", "logs", "worker.log"), "working")
	})

	t.Run("node without dependencies", func(t *testing.T) {
		t.Parallel()
		if _, err := exec.LookPath("npm"); err != nil {
			t.Skip("skipping: npm is not installed on this machine")
		}
		p := bpProject(t, 2, bpHCL("nodeweb", "", "", ""), bpApp("node-nodeps"))
		r := p.mustPlat("push", "local")
		if !strings.Contains(r.stdout, "$ npm ci") || !strings.Contains(r.stdout, "$ npm run build") {
			t.Errorf("npm ci and the build script did not run:\n%s", r.stdout)
		}
		// server.js serves what the build script wrote.
		bpServes(t, p, "/", "<p>built by npm run build</p>")
	})

	t.Run("node with a dependency from the npm registry", func(t *testing.T) {
		t.Parallel()
		if ok, why := npmReachable(t); !ok {
			t.Skipf("skipping: the npm registry is not reachable from this machine (npm ping: %s); the node buildpack is pushed without dependencies by \"node without dependencies\"", why)
		}
		p := bpProject(t, 2, bpHCL("msweb", "", "", ""), filepath.Join("testdata", "apps", "node-ms"))
		r := p.mustPlat("push", "local")
		if !strings.Contains(r.stdout, "$ npm install") {
			t.Errorf("npm install did not run:\n%s", r.stdout)
		}
		bpServes(t, p, "/", "ms(60000) = 1m")
	})

	t.Run("nothing detected", func(t *testing.T) {
		t.Parallel()
		p := bpProject(t, 2, bpHCL("readme", "", "", ""), bpApp("empty"))
		r := p.plat("push", "local")
		if r.code != 1 {
			t.Fatalf("want exit 1:\n%s", r)
		}
		for _, want := range []string{"no buildpack applies", "go.mod", "requirements.txt", "package.json", "index.html", "Procfile"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("error lacks %q:\n%s", want, r.stderr)
			}
		}
		bpNoRelease(t, p, r)
	})

	t.Run("failing go compile", func(t *testing.T) {
		t.Parallel()
		p := bpProject(t, 2, bpHCL("broken", "", "", ""), bpApp("go-broken"))
		r := p.plat("push", "local")
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "undefined: undefinedFunction") || !strings.Contains(r.stderr, "buildpack go") {
			t.Fatalf("want exit 1 with the compiler's message and the buildpack's name:\n%s", r)
		}
		bpNoRelease(t, p, r)
	})

	t.Run("failing Heroku compile", func(t *testing.T) {
		t.Parallel()
		p := bpProject(t, 2, bpHCL("failing", `  buildpack = "../buildpacks/failing"`, "", ""), bpApp("heroku"))
		bpCopy(t, filepath.Join("..", "..", "buildpacks", "testdata", "buildpacks", "failing"), filepath.Join(p.root, "buildpacks", "failing"))
		r := p.plat("push", "local")
		if r.code != 1 {
			t.Fatalf("want exit 1:\n%s", r)
		}
		// All of its output streamed, its last lines in the error.
		for _, want := range []string{"failing: line 1\n", "failing: line 30", "failing: giving up"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, r.stdout)
			}
		}
		if !strings.Contains(r.stderr, "failing: giving up") || !strings.Contains(r.stderr, "failing") {
			t.Errorf("error lacks the compile's last lines:\n%s", r.stderr)
		}
		bpNoRelease(t, p, r)
	})
}

// TestBuildpacksHerokuPushLocal chains three Heroku classic buildpacks
// written as shell scripts: first (a tool, an export file, .profile.d,
// config_vars, a cache counter), second (uses first's exports) and serve
// (a web server that shows all of it, its web process from
// default_process_types).
func TestBuildpacksHerokuPushLocal(t *testing.T) {
	other := `
environment "other" {
  provider "local" {
    base_port = var.base_port + 2
  }
  cluster "web" {
    count = 1
  }
}
`
	hcl := bpHCL("hello",
		`  buildpack = ["../buildpacks/first", "../buildpacks/second", "../buildpacks/serve"]`,
		"  env = {\n    GREETING = \"hi from plat.hcl\"\n  }", other)
	p := bpProject(t, 3, hcl, bpApp("heroku"))
	t.Cleanup(func() { p.plat("down", "other") })
	for _, bp := range []string{"first", "second"} {
		bpCopy(t, filepath.Join("..", "..", "buildpacks", "testdata", "buildpacks", bp), filepath.Join(p.root, "buildpacks", bp))
	}
	bpCopy(t, filepath.Join("testdata", "buildpacks", "serve"), filepath.Join(p.root, "buildpacks", "serve"))

	r := p.mustPlat("push", "local")
	for _, want := range []string{"-----> First app detected", "-----> Second app detected", "-----> Serve app detected", "task release", "migrating"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("push output lacks %q:\n%s", want, r.stdout)
		}
	}
	for i, h := range []string{"web1", "web2"} {
		body := p.get(i, "/")
		for _, want := range []string{
			"second.txt: tool says: first tool",                                     // export chaining: PATH and FIRST_HOME
			"greeting.txt: hi from plat.hcl",                                        // config var through ENV_DIR
			"first-env.txt: GREETING in environment: unset",                         // ... and only there
			"first-env.txt: STACK=plat-bookworm",                                    // STACK
			"cache-count.txt: 1",                                                    // first build: an empty cache
			"FIRST_PROFILE=sourced from .profile.d",                                 // .profile.d sourced before the process
			"FIRST_MODE=it's production",                                            // bin/release config_vars
			"SERVE_HOME=" + filepath.Join(p.hostDir(h), "releases", "r1", ".serve"), // HOME is the release dir for .profile.d
			"PLAT_RELEASE=r1",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q:\n%s", h, want, body)
			}
		}
	}
	// The processes come from the buildpacks' default_process_types (a
	// later buildpack's web over an earlier one's), the app's Procfile
	// adds release.
	procfile, _ := os.ReadFile(filepath.Join(p.hostDir("web1"), "releases", "r1", "Procfile"))
	if want := "release: sh -c 'echo migrating'\nweb: python3 \"$SERVE_HOME/server.py\"\nworker: sh -c 'echo working: yes'\n"; string(procfile) != want {
		t.Errorf("Procfile on web1 =\n%s\nwant\n%s", procfile, want)
	}
	bpWaitFile(t, filepath.Join(p.hostDir("web1"), ".plat", "logs", "worker.log"), "working: yes")

	// The cache persists between builds of the app and environment.
	p.write("hello.txt", "hello again\n")
	p.mustPlat("push", "local")
	bpServes(t, p, "/", "cache-count.txt: 2", "PLAT_RELEASE=r2")
	counts, _ := filepath.Glob(filepath.Join(p.dir, ".plat", "cache", "build", "local", "buildpacks", "first-*", "count"))
	if len(counts) != 1 {
		t.Fatalf("first's cache dir: %v", counts)
	}
	if b, _ := os.ReadFile(counts[0]); string(b) != "2\n" {
		t.Errorf("first's cache count = %q, want 2", b)
	}
	// Another environment has its own cache.
	p.mustPlat("push", "other")
	if body := p.get(2, "/"); !strings.Contains(body, "cache-count.txt: 1") {
		t.Errorf("other environment's first build did not start with an empty cache:\n%s", body)
	}
}
