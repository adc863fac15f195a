package buildpacks

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"

	"github.com/plat-sh/plat/platform/hostcmd"
)

func TestBuildStatic(t *testing.T) {
	tests := []struct {
		app, site string
	}{
		{"static-root", "."},
		{"static-public", "public"},
	}
	for _, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			dir := copyApp(t, tt.app)
			res, _ := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{Dir: dir})
			web := "python3 -m http.server $PORT --bind 0.0.0.0 --directory " + tt.site
			if !reflect.DeepEqual(res.Buildpacks, []string{"static"}) || res.Processes["web"] != web {
				t.Fatalf("result = %+v", res)
			}
			if got := readFile(t, dir, "Procfile"); got != "web: "+web+"\n" {
				t.Fatalf("Procfile = %q", got)
			}
		})
	}
}

func TestBuildStaticKeepsUserProcfile(t *testing.T) {
	dir := copyApp(t, "static-root")
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: my-server\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{Dir: dir, Buildpacks: []string{"static"}})
	if res.Processes["web"] != "my-server" || readFile(t, dir, "Procfile") != "web: my-server\n" {
		t.Fatalf("the app's Procfile did not win: %+v", res.Processes)
	}
}

func TestBuildProcfile(t *testing.T) {
	dir := copyApp(t, "procfile")
	res, _ := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{Dir: dir})
	want := map[string]string{"web": "sh serve.sh", "worker": "sh -c 'echo working'", "release": "sh -c 'echo migrating'"}
	if !reflect.DeepEqual(res.Processes, want) || !reflect.DeepEqual(res.Buildpacks, []string{"procfile"}) {
		t.Fatalf("result = %+v", res)
	}
	// Rewritten sorted, comments and blank lines gone.
	if got := readFile(t, dir, "Procfile"); got != "release: sh -c 'echo migrating'\nweb: sh serve.sh\nworker: sh -c 'echo working'\n" {
		t.Fatalf("Procfile = %q", got)
	}
}

func TestBuildPythonWithoutDependencies(t *testing.T) {
	tests := []struct {
		name       string
		app        string
		buildpacks []string
	}{
		{"empty requirements.txt", "python-nodeps", nil},
		{"stdlib app forced to python", "python-stdlib", []string{"python"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyApp(t, tt.app)
			res, out := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{Dir: dir, Buildpacks: tt.buildpacks})
			if res.Processes["web"] != "python3 app.py" || !reflect.DeepEqual(res.Buildpacks, []string{"python"}) {
				t.Fatalf("result = %+v", res)
			}
			if _, err := os.Stat(filepath.Join(dir, venvDir)); !os.IsNotExist(err) {
				t.Fatalf("a virtualenv was made for an app without dependencies (%v)", err)
			}
			if !strings.Contains(out, "no dependencies to install") {
				t.Fatalf("output does not say why there is no virtualenv:\n%s", out)
			}
		})
	}
}

// buildWheel builds testdata/pylib/platgreet into a wheel in dir with a
// real `pip wheel`, offline: its build backend is in its own tree.
func buildWheel(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "platgreet")
	if err := copyTree(testdataPath(t, "pylib", "platgreet"), src); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "-m", "pip", "wheel", "--no-deps", "--no-index", "--disable-pip-version-check", "--wheel-dir", dir, src)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip wheel: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "platgreet-1.0-py3-none-any.whl")); err != nil {
		t.Fatalf("pip wheel made no wheel: %v", err)
	}
}

func TestBuildPythonFromWheelsDir(t *testing.T) {
	dir := copyApp(t, "python-wheel")
	buildWheel(t, filepath.Join(dir, "wheels"))
	res, out := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{Dir: dir})
	if res.Processes["web"] != "python3 app.py" {
		t.Fatalf("processes = %v", res.Processes)
	}
	if !strings.Contains(out, "--no-index --find-links "+filepath.Join(dir, "wheels")) {
		t.Fatalf("pip did not install from wheels/ only:\n%s", out)
	}

	venv := filepath.Join(dir, venvDir)
	for _, gone := range []string{"bin/activate", "bin/Activate.ps1", "bin/pip"} {
		if _, err := os.Stat(filepath.Join(venv, gone)); !os.IsNotExist(err) {
			t.Errorf("%s is in the virtualenv (%v)", gone, err)
		}
	}
	if cfg := readFile(t, venv, "pyvenv.cfg"); strings.Contains(cfg, dir) || !strings.Contains(cfg, "home =") {
		t.Errorf("pyvenv.cfg names the build directory or lost home:\n%s", cfg)
	}
	if script := readFile(t, venv, "bin", "platgreet"); !strings.HasPrefix(script, "#!/usr/bin/env python3\n") {
		t.Errorf("console script shebang not relocatable:\n%s", script)
	}
	// No build path left anywhere in the virtualenv's text.
	_ = filepath.WalkDir(venv, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() && !strings.HasPrefix(e.Name(), "python") {
			if data, _ := os.ReadFile(p); strings.Contains(string(data), dir) {
				t.Errorf("%s mentions the build directory", p)
			}
		}
		return nil
	})

	// The release directory moves: releases/<id>. The app and its console
	// script must still find the package from the new place.
	moved := filepath.Join(t.TempDir(), "releases", "r1")
	if err := os.MkdirAll(filepath.Dir(moved), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	check := `python3 -c 'import platgreet, sys; print(platgreet.greeting(), sys.prefix)' && platgreet`
	got := shell(t, moved, hostcmd.SourceProfile+" && "+check)
	if !strings.Contains(got, "hello from platgreet, plat "+filepath.Join(moved, venvDir)) || !strings.HasSuffix(got, "hello from platgreet, plat\n") {
		t.Fatalf("moved release, virtualenv interpreter:\n%s", got)
	}

	// A host where the build machine's interpreter does not run: the
	// host's python3 gets the packages through PYTHONPATH.
	for _, py := range []string{"python", "python3", "python3.11"} {
		p := filepath.Join(moved, venvDir, "bin", py)
		if _, err := os.Stat(p); err == nil {
			if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 127\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	got = shell(t, moved, hostcmd.SourceProfile+` && python3 -c 'import platgreet; print(platgreet.greeting())' && platgreet`)
	if got != "hello from platgreet, plat\nhello from platgreet, plat\n" {
		t.Fatalf("moved release, host interpreter:\n%s", got)
	}
}

func TestBuildPythonFindLinksConfigVar(t *testing.T) {
	dir := copyApp(t, "python-wheel")
	wheels := filepath.Join(t.TempDir(), "wheelhouse")
	buildWheel(t, wheels)
	_, out := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{
		Dir: dir, Env: map[string]string{"PIP_FIND_LINKS": wheels},
	})
	if !strings.Contains(out, "--no-index --find-links "+wheels) {
		t.Fatalf("pip did not use PIP_FIND_LINKS:\n%s", out)
	}
	got := shell(t, dir, hostcmd.SourceProfile+` && python3 -c 'import platgreet; print(platgreet.__file__)'`)
	if !strings.HasPrefix(got, filepath.Join(dir, venvDir)) {
		t.Fatalf("platgreet imported from %q, want inside %s", got, venvDir)
	}
}

// goTestEnv makes the go buildpack fetch modules from this machine's
// module cache first, then GOPROXY: hermetic and fast, same protocol.
func goTestEnv(t *testing.T) map[string]string {
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
	return map[string]string{"GOPROXY": proxy}
}

func TestBuildGo(t *testing.T) {
	dir := copyApp(t, "go-sync")
	cache := t.TempDir()
	res, _ := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{Dir: dir, CacheDir: cache, Env: goTestEnv(t)})
	if !reflect.DeepEqual(res.Buildpacks, []string{"go"}) || res.Processes["web"] != "bin/hello" {
		t.Fatalf("result = %+v", res)
	}
	if got := shell(t, dir, "bin/hello && bin/tool"); got != "hello from go\ntool ok\n" {
		t.Fatalf("binaries say %q", got)
	}
	// Modules went to the app's cache directory.
	if _, err := os.Stat(filepath.Join(cache, "go", "mod", "golang.org", "x", "sync@v0.25.0", "errgroup")); err != nil {
		t.Fatalf("module not in the cache directory: %v", err)
	}
	// A static binary: CGO_ENABLED=0.
	if out, err := exec.Command("go", "version", "-m", filepath.Join(dir, "bin", "hello")).Output(); err != nil {
		t.Fatal(err)
	} else if s := string(out); !strings.Contains(s, "CGO_ENABLED=0") || !strings.Contains(s, "-trimpath=true") || !strings.Contains(s, "golang.org/x/sync\tv0.25.0") {
		t.Fatalf("build info:\n%s", s)
	}
}

func TestBuildGoCompileError(t *testing.T) {
	dir := copyApp(t, "go-broken")
	var out syncBuffer
	_, err := newTestBuilder(t, Options{}).Build(context.Background(), &platform.BuildRequest{Dir: dir, CacheDir: t.TempDir(), Output: &out})
	var cerr *CompileError
	if !errors.As(err, &cerr) || cerr.Buildpack != "go" {
		t.Fatalf("err = %v, want a *CompileError from go", err)
	}
	if !strings.Contains(err.Error(), "undefined: undefinedFunction") || !strings.Contains(out.String(), "undefined: undefinedFunction") {
		t.Fatalf("compiler message missing from error or output:\n%v\n---\n%s", err, out.String())
	}
}

func TestBuildNodeWithoutDependencies(t *testing.T) {
	dir := copyApp(t, "node-nodeps")
	res, out := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{Dir: dir})
	if !reflect.DeepEqual(res.Buildpacks, []string{"node"}) || res.Processes["web"] != "npm start" {
		t.Fatalf("result = %+v", res)
	}
	if !strings.Contains(out, "$ npm ci") {
		t.Fatalf("npm ci did not run (there is a lockfile):\n%s", out)
	}
	if got := readFile(t, dir, "dist", "index.html"); got != "<p>built by npm run build</p>\n" {
		t.Fatalf("build script output = %q", got)
	}
}

// npmRegistryReachable asks npm itself, briefly.
func npmRegistryReachable(t *testing.T) (bool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ping", "--fetch-retries=0", "--fetch-timeout=5000")
	cmd.Env = append(os.Environ(), "NPM_CONFIG_CACHE="+t.TempDir()) // its logs stay in the test's dirs
	out, err := cmd.CombinedOutput()
	if err == nil {
		return true, ""
	}
	// npm's most telling line: the failed request and why, else its code.
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

func TestBuildNodeWithDependencies(t *testing.T) {
	if ok, why := npmRegistryReachable(t); !ok {
		t.Skipf("skipping: the npm registry is not reachable from this machine (npm ping: %s); node apps without dependencies are tested by TestBuildNodeWithoutDependencies", why)
	}
	dir := copyApp(t, "node-deps")
	res, out := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{Dir: dir})
	if res.Processes["web"] != "npm start" || !strings.Contains(out, "$ npm install") {
		t.Fatalf("result = %+v\n%s", res, out)
	}
	if got := shell(t, dir, "npm start --silent"); strings.TrimSpace(got) != "1m" {
		t.Fatalf("npm start = %q", got)
	}
}

// On a Debian or air-gapped build machine the system's packages satisfy
// requirements: with PYTHON_SYSTEM_SITE_PACKAGES the virtualenv sees them
// and pip installs nothing from an index it cannot reach. pip itself is
// such a package here: the python buildpack needs it on the build machine.
func TestPythonSystemSitePackages(t *testing.T) {
	offline := t.TempDir() // an empty wheel dir: no index, nothing to find
	build := func(system bool) (string, error) {
		dir := copyApp(t, "python-nodeps")
		if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("pip\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"PIP_FIND_LINKS": offline}
		if system {
			env["PYTHON_SYSTEM_SITE_PACKAGES"] = "1"
		}
		_, err := newTestBuilder(t, Options{}).Build(context.Background(), &platform.BuildRequest{Dir: dir, Env: env, CacheDir: t.TempDir()})
		return dir, err
	}
	if _, err := build(false); err == nil || !strings.Contains(err.Error(), "install dependencies") {
		t.Fatalf("without system site packages an offline install of pip must fail: %v", err)
	}
	dir, err := build(true)
	if err != nil {
		t.Fatalf("with system site packages: %v", err)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, venvDir, "pyvenv.cfg"))
	if !strings.Contains(string(cfg), "include-system-site-packages = true") {
		t.Errorf("pyvenv.cfg:\n%s", cfg)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, venvDir, "lib", "python3*", "site-packages", "pip")); len(m) != 0 {
		t.Errorf("pip was copied into the virtualenv although the system has it: %v", m)
	}
	if got := shell(t, dir, hostcmd.SourceProfile+` && python3 -c 'import pip, sys; print(sys.prefix)'`); !strings.HasSuffix(strings.TrimSpace(got), venvDir) {
		t.Errorf("the release's python3 is not the virtualenv's: %q", got)
	}
}

// The python buildpack compiles the release's bytecode reproducibly, and
// the processes write none (hosts' releases never drift).
func TestPythonBytecodeIsPartOfTheRelease(t *testing.T) {
	dir := copyApp(t, "python-stdlib")
	if err := os.WriteFile(filepath.Join(dir, "helper.py"), []byte("X = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "py2.py"), []byte("print 'python 2'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{Dir: dir, Buildpacks: []string{"python"}})
	pycs, _ := filepath.Glob(filepath.Join(dir, "__pycache__", "helper.*.pyc"))
	if len(pycs) != 1 {
		t.Fatalf("helper.py was not compiled: %v\n%s", pycs, out)
	}
	if !strings.Contains(out, "do not compile to bytecode") {
		t.Errorf("a file that does not compile is not mentioned:\n%s", out)
	}
	before, _ := os.ReadFile(pycs[0])
	got := shell(t, dir, hostcmd.SourceProfile+` && python3 -c 'import helper; print(helper.X)' && echo "dont=$PYTHONDONTWRITEBYTECODE"`)
	if !strings.Contains(got, "dont=1") {
		t.Errorf("the processes may write bytecode: %q", got)
	}
	after, _ := os.ReadFile(pycs[0])
	if !bytes.Equal(before, after) {
		t.Errorf("importing helper rewrote its bytecode")
	}
}

// A .py symlink out of the tree is deployed as a link: its target's
// bytecode is not compiled into the release, while a link inside the tree
// and a module whose name shares the link's prefix keep theirs.
func TestPythonBytecodeOfLinksOutOfTheTree(t *testing.T) {
	dir := copyApp(t, "python-stdlib")
	outside := filepath.Join(t.TempDir(), "secret.py")
	if err := os.WriteFile(outside, []byte("TOKEN = 'outside the tree'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"inside.py": "X = 1\n", "out.extra.py": "Y = 2\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "out.py")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("inside.py", filepath.Join(dir, "alias.py")); err != nil {
		t.Fatal(err)
	}
	_, out := mustBuild(t, newTestBuilder(t, Options{}), &platform.BuildRequest{Dir: dir, Buildpacks: []string{"python"}})
	for stem, want := range map[string]int{"out": 0, "alias": 1, "inside": 1, "out.extra": 1} {
		if pycs, _ := filepath.Glob(filepath.Join(dir, "__pycache__", stem+".cpython-*.pyc")); len(pycs) != want {
			t.Errorf("%s.py: %d bytecode files %v, want %d\n%s", stem, len(pycs), pycs, want, out)
		}
	}
	if fi, err := os.Lstat(filepath.Join(dir, "out.py")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("out.py is no longer the link: %v %v", fi, err)
	}
}
