package buildpacks

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

func pythonBuildpack() builtin {
	return builtin{
		name:     "python",
		looksFor: "requirements.txt, pyproject.toml, setup.py, app.py, or *.py beside a Procfile",
		detect:   detectPython,
		compile:  compilePython,
	}
}

// detectPython: a dependency file, app.py (which the buildpack runs as the
// web process), or Python files at the root next to a Procfile that runs
// them. A lone helper script does not make a Python app.
func detectPython(dir string) bool {
	for _, f := range []string{"requirements.txt", "pyproject.toml", "setup.py", "app.py"} {
		if fileExists(dir, f) {
			return true
		}
	}
	if !fileExists(dir, "Procfile") {
		return false
	}
	py, _ := filepath.Glob(filepath.Join(dir, "*.py"))
	for _, p := range py {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// venvDir is where the virtualenv goes, relative to the app.
const venvDir = ".venv"

// pyprojectDeps is run by python3 to list pyproject.toml's
// [project] dependencies, one per line (tomllib is Python 3.11+).
const pyprojectDeps = `import sys, tomllib
with open("pyproject.toml", "rb") as f:
    data = tomllib.load(f)
for d in data.get("project", {}).get("dependencies", []):
    print(d)
`

func compilePython(ctx context.Context, bc *buildContext) (map[string]string, error) {
	pyEnv := map[string]string{"PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
	var install []string // what pip installs: -r file, or "."
	switch {
	case fileExists(bc.dir, "requirements.txt"):
		has, err := hasRequirements(filepath.Join(bc.dir, "requirements.txt"))
		if err != nil {
			return nil, err
		}
		if has {
			install = []string{"-r", "requirements.txt"}
		}
	case fileExists(bc.dir, "pyproject.toml"):
		var deps bytes.Buffer
		bc.out.printf("       reading [project] dependencies from pyproject.toml\n")
		err := run(ctx, bc.log, bc.out, command{dir: bc.dir, env: bc.env.with(pyEnv), args: []string{"python3", "-c", pyprojectDeps}, stdout: &deps})
		if err != nil {
			return nil, fmt.Errorf("read pyproject.toml dependencies: %w", err)
		}
		if strings.TrimSpace(deps.String()) != "" {
			req := filepath.Join(bc.cacheDir, "pyproject-requirements.txt")
			if err := os.WriteFile(req, deps.Bytes(), 0o644); err != nil {
				return nil, fmt.Errorf("write requirements from pyproject.toml: %w", err)
			}
			install = []string{"-r", req}
		}
	case fileExists(bc.dir, "setup.py"):
		install = []string{"."}
	}

	procs := map[string]string{}
	if fileExists(bc.dir, "app.py") {
		procs["web"] = "python3 app.py"
	}
	if install == nil {
		bc.out.printf("       no dependencies to install: no virtualenv needed\n")
		compileBytecode(ctx, bc, pyEnv, "python3")
		return procs, writeProfileScript(bc.dir, "python.sh", pythonNoVenvProfile)
	}

	venv := filepath.Join(bc.dir, venvDir)
	if _, err := os.Lstat(venv); err == nil {
		bc.out.printf("       removing the %s that came with the source: it is rebuilt here\n", venvDir)
		if err := os.RemoveAll(venv); err != nil {
			return nil, fmt.Errorf("remove old virtualenv: %w", err)
		}
	}
	// --copies: regular files, no symlinks pointing out of the tree.
	// --without-pip: the build machine's pip fills it through --python,
	// which keeps pip (thousands of files) out of the release.
	venvArgs := []string{"python3", "-m", "venv", "--copies", "--without-pip"}
	if truthy(bc.config["PYTHON_SYSTEM_SITE_PACKAGES"]) {
		// Debian's python3-* packages (or any the build machine and the
		// hosts have) satisfy requirements: pip installs only the rest.
		bc.out.printf("       PYTHON_SYSTEM_SITE_PACKAGES: the system's packages satisfy what they can\n")
		venvArgs = append(venvArgs, "--system-site-packages")
	}
	if err := bc.run(ctx, pyEnv, append(venvArgs, venvDir)...); err != nil {
		return nil, fmt.Errorf("make virtualenv: %w", err)
	}
	args := []string{"python3", "-m", "pip", "--python", filepath.Join(venvDir, "bin", "python3"), "install",
		"--no-compile", "--no-input", "--progress-bar", "off", "--cache-dir", filepath.Join(bc.cacheDir, "pip")}
	if links := findLinks(bc); links != "" {
		bc.out.printf("       installing from %s only (no package index)\n", links)
		args = append(args, "--no-index", "--find-links", links)
	}
	args = append(args, install...)
	if err := bc.run(ctx, pyEnv, args...); err != nil {
		return nil, fmt.Errorf("install dependencies: %w", err)
	}
	if err := relocateVenv(venv); err != nil {
		return nil, err
	}
	compileBytecode(ctx, bc, pyEnv, filepath.Join(venvDir, "bin", "python3"))
	if err := writeProfileScript(bc.dir, "python.sh", pythonProfile); err != nil {
		return nil, err
	}
	return procs, nil
}

// compileBytecode writes the bytecode of every .py file of the app and
// its virtualenv into the release, so the hosts' interpreter never writes
// __pycache__ into a release (which `status --verify` would report as
// drift on every healthy host, and which would spoil the next upload's
// base). unchecked-hash .pyc files carry the source's hash instead of its
// mtime, so the same source compiles to the same bytes on every build
// (PYTHONHASHSEED=0 fixes set order) and the interpreter never rewrites
// them; the processes also get PYTHONDONTWRITEBYTECODE (.profile.d) for
// what could not be compiled here. A file that does not compile (Python 2
// leftovers, templates named .py) is not an error: it is named, and
// compiled in memory where it is imported.
func compileBytecode(ctx context.Context, bc *buildContext, pyEnv map[string]string, python string) {
	env := map[string]string{"PYTHONHASHSEED": "0"}
	for k, v := range pyEnv {
		env[k] = v
	}
	err := bc.run(ctx, env, python, "-m", "compileall", "-q", "-q", "--invalidation-mode", "unchecked-hash",
		"-x", `(^|/)\.(git|hg|svn|plat)(/|$)`, ".")
	if err != nil && ctx.Err() == nil {
		bc.out.printf("       some files do not compile to bytecode (see above); they are compiled where they are imported\n")
	}
	dropOutsideBytecode(bc.dir)
}

// pycTag is what follows a module's name in its bytecode file's name.
var pycTag = regexp.MustCompile(`^[^.]+(\.opt-[0-9]+)?\.pyc$`)

// dropOutsideBytecode removes the bytecode compileall wrote for .py
// symlinks whose target is outside the tree: a release carries such a
// link as a link and never what it points to (compileall follows links to
// files, not to directories).
func dropOutsideBytecode(root string) {
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 || !strings.HasSuffix(d.Name(), ".py") {
			return nil
		}
		if target, err := filepath.EvalSymlinks(path); err == nil {
			if rel, err := filepath.Rel(root, target); err == nil && filepath.IsLocal(rel) {
				return nil
			}
		}
		cache := filepath.Join(filepath.Dir(path), "__pycache__")
		entries, _ := os.ReadDir(cache)
		stem := strings.TrimSuffix(d.Name(), ".py") + "."
		for _, e := range entries {
			// stem.cpython-311.pyc, stem.cpython-311.opt-1.pyc
			if n := e.Name(); strings.HasPrefix(n, stem) && pycTag.MatchString(n[len(stem):]) {
				_ = os.Remove(filepath.Join(cache, n))
			}
		}
		return nil
	})
}

// truthy reports whether a config value turns an option on.
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// hasRequirements reports whether a requirements file names anything
// (not only comments and blank lines).
func hasRequirements(file string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, fmt.Errorf("read requirements: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read requirements: %w", err)
	}
	return false, nil
}

// findLinks is the local wheel directory to install from, "" for the
// package index: the PIP_FIND_LINKS config var, else the build machine's
// PLAT_PIP_FIND_LINKS, else the app's wheels/ directory. A relative path is
// relative to the app.
func findLinks(bc *buildContext) string {
	l := bc.config["PIP_FIND_LINKS"]
	if l == "" {
		l = bc.env["PLAT_PIP_FIND_LINKS"]
	}
	if l == "" && dirExists(bc.dir, "wheels") {
		l = "wheels"
	}
	if l != "" && !filepath.IsAbs(l) && !strings.Contains(l, "://") {
		l = filepath.Join(bc.dir, l)
	}
	return l
}

// relocateVenv removes what ties the virtualenv to the directory it was
// made in: activate scripts and pyvenv.cfg's command line (absolute
// paths), and console scripts' shebangs (rewritten to /usr/bin/env
// python3, with their RECORD entries updated).
func relocateVenv(venv string) error {
	for _, a := range []string{"activate", "activate.csh", "activate.fish", "Activate.ps1"} {
		if err := os.Remove(filepath.Join(venv, "bin", a)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("relocate virtualenv: %w", err)
		}
	}
	cfgPath := filepath.Join(venv, "pyvenv.cfg")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return fmt.Errorf("relocate virtualenv: %w", err)
	}
	var kept []string
	for _, l := range strings.SplitAfter(string(cfg), "\n") {
		if k, _, _ := strings.Cut(l, "="); strings.TrimSpace(k) != "command" && l != "" {
			kept = append(kept, l)
		}
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Join(kept, "")), 0o644); err != nil {
		return fmt.Errorf("relocate virtualenv: %w", err)
	}

	// pip writes "#!<venv>/bin/python3" (or a /bin/sh exec trampoline for
	// long paths); both name the build directory.
	entries, err := os.ReadDir(filepath.Join(venv, "bin"))
	if err != nil {
		return fmt.Errorf("relocate virtualenv: %w", err)
	}
	rewritten := map[string]string{} // bin name -> new RECORD fields
	for _, e := range entries {
		p := filepath.Join(venv, "bin", e.Name())
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), "python") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("relocate virtualenv: %w", err)
		}
		fixed, ok := fixShebang(data, venv)
		if !ok {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return fmt.Errorf("relocate virtualenv: %w", err)
		}
		if err := os.WriteFile(p, fixed, fi.Mode().Perm()); err != nil {
			return fmt.Errorf("relocate virtualenv: %w", err)
		}
		sum := sha256.Sum256(fixed)
		rewritten[e.Name()] = fmt.Sprintf("sha256=%s,%d", base64.RawURLEncoding.EncodeToString(sum[:]), len(fixed))
	}
	if len(rewritten) > 0 {
		return fixRecords(venv, rewritten)
	}
	return nil
}

// fixShebang rewrites a script whose interpreter is inside venv.
func fixShebang(data []byte, venv string) ([]byte, bool) {
	abs := filepath.Join(venv, "bin") + "/python"
	if bytes.HasPrefix(data, []byte("#!"+abs)) {
		_, rest, _ := bytes.Cut(data, []byte("\n"))
		return append([]byte("#!/usr/bin/env python3\n"), rest...), true
	}
	// pip's trampoline for interpreter paths too long for a shebang:
	// #!/bin/sh / '''exec' '<venv>/bin/python3' "$0" "$@" / ' '''
	if bytes.HasPrefix(data, []byte("#!/bin/sh\n'''exec' ")) {
		lines := bytes.SplitN(data, []byte("\n"), 4)
		if len(lines) == 4 && bytes.Contains(lines[1], []byte(abs)) {
			return append([]byte("#!/usr/bin/env python3\n"), lines[3]...), true
		}
	}
	return data, false
}

// fixRecords updates the hash and size of rewritten console scripts in
// every installed package's RECORD, so pip still trusts them.
func fixRecords(venv string, rewritten map[string]string) error {
	records, err := filepath.Glob(filepath.Join(venv, "lib", "python*", "site-packages", "*.dist-info", "RECORD"))
	if err != nil {
		return fmt.Errorf("relocate virtualenv: %w", err)
	}
	for _, rec := range records {
		data, err := os.ReadFile(rec)
		if err != nil {
			return fmt.Errorf("relocate virtualenv: %w", err)
		}
		lines := strings.SplitAfter(string(data), "\n")
		changed := false
		for i, l := range lines {
			p, _, ok := strings.Cut(l, ",")
			if !ok || !strings.HasPrefix(p, "../../../bin/") {
				continue
			}
			if fields, ok := rewritten[strings.TrimPrefix(p, "../../../bin/")]; ok {
				lines[i] = p + "," + fields + "\n"
				changed = true
			}
		}
		if changed {
			if err := os.WriteFile(rec, []byte(strings.Join(lines, "")), 0o644); err != nil {
				return fmt.Errorf("relocate virtualenv: %w", err)
			}
		}
	}
	return nil
}

// pythonProfile activates .venv relative to the release directory, or,
// where the build machine's interpreter does not run, hands its packages
// to the host's python3.
const pythonProfile = `# Written by plat's python buildpack.
# The release holds its bytecode: the interpreter writes none into it.
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
if "$PWD/.venv/bin/python3" -c '' >/dev/null 2>&1; then
	VIRTUAL_ENV="$PWD/.venv"
	PATH="$PWD/.venv/bin:$PATH"
	export VIRTUAL_ENV PATH
else
	for plat_sp in "$PWD"/.venv/lib/python3*/site-packages; do
		if [ -d "$plat_sp" ]; then
			PYTHONPATH="$plat_sp${PYTHONPATH:+:$PYTHONPATH}"
			export PYTHONPATH
		fi
	done
	unset plat_sp
	PATH="$PATH:$PWD/.venv/bin"
	export PATH
fi
`

// pythonNoVenvProfile is pythonProfile for an app without dependencies.
const pythonNoVenvProfile = `# Written by plat's python buildpack.
# The release holds its bytecode: the interpreter writes none into it.
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
`

// writeProfileScript writes .profile.d/name in dir.
func writeProfileScript(dir, name, content string) error {
	d := filepath.Join(dir, ".profile.d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("write .profile.d/%s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
		return fmt.Errorf("write .profile.d/%s: %w", name, err)
	}
	return nil
}
