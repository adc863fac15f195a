// Package buildpacks turns a source tree into a runnable release tree on
// the build machine: it detects which buildpack applies, runs it (or an
// explicit chain), and writes the merged process types to Dir/Procfile.
//
// # Choosing buildpacks
//
// An empty platform.BuildRequest.Buildpacks means detect: the built-ins
// are tried in this order and the first that applies runs alone:
//
//	go        go.mod
//	python    requirements.txt, pyproject.toml, setup.py, app.py, or *.py beside a Procfile
//	node      package.json
//	static    index.html at the root, in public/ or in site/
//	procfile  Procfile
//
// The most specific marker comes first: go.mod is never incidental, while a
// Go or Python project may carry a package.json for its front end, and a
// node app usually has public/index.html. Apps that need two stacks name
// them. When nothing applies the error (a *DetectError, matching
// ErrNothingDetected) lists each buildpack and what it looks for.
// DetectBuiltin is this detection on its own (plat init uses it).
//
// Buildpacks = ["none"] (None) builds nothing: the tree is deployed as it
// is, the Procfile, which must exist, is not rewritten, and its process
// types are the result. None stands alone.
//
// A non-empty list is a chain run in order. Each entry is one of:
//   - a built-in name ("python");
//   - a git URL (https://, http://, ssh://, git://, file://, git@host:path, or
//     anything ending in .git), optionally with "#ref" (branch, tag or
//     commit): a Heroku classic buildpack, fetched shallowly with git into
//     Options.GitCacheDir;
//   - a local path (absolute, or starting with ./ ../ ~/, or containing a
//     slash; relative to Options.BaseDir): a Heroku classic buildpack.
//
// # Heroku classic buildpacks (API v2)
//
// Each run works on a fresh copy of the buildpack, so an `export` file it
// writes never leaks into the next build. bin/detect BUILD_DIR must exit 0
// (a missing bin/detect means the buildpack applies); its first line of
// output names it. bin/compile BUILD_DIR CACHE_DIR ENV_DIR runs with STACK
// set, in BUILD_DIR. STACK is DefaultStack ("plat-bookworm") unless a STACK
// config var (`env = { STACK = "heroku-22" }` in plat.hcl) or
// Options.Stack names another: a buildpack that checks its stack against
// the Heroku stacks it supports needs one of those names; ENV_DIR holds one 0600 file per config var;
// CACHE_DIR is a per-buildpack directory under BuildRequest.CacheDir, kept
// between builds. After compile, an `export` file at the buildpack's root is
// sourced and the variables it sets reach every later buildpack in the
// chain. bin/release BUILD_DIR prints YAML: default_process_types become
// process defaults, config_vars become defaults in
// .profile.d/000-<buildpack>-config-vars.sh.
//
// # Built-ins
//
// Built-ins see the config vars in their environment (so PIP_INDEX_URL,
// GOPROXY, GOPRIVATE or NPM_CONFIG_* work) and keep their caches under
// CacheDir/<name>.
//
//   - go: `go build -trimpath -buildvcs=false` of the main package at the
//     root (to bin/<last element of the module path>) and of every main
//     package in cmd/* (to bin/<dir>), with CGO_ENABLED=0, GOFLAGS
//     "-mod=mod -modcacherw" ("-mod=vendor" with vendor/modules.txt) and
//     GOMODCACHE in the cache. The compile cache is the machine's GOCACHE
//     (content addressed, safe to share) unless the GOCACHE config var
//     says otherwise. Default: web: bin/<name>.
//   - python: dependencies from requirements.txt, else pyproject.toml's
//     [project] dependencies, else `pip install .` for setup.py, go into a
//     virtualenv at .venv (`python3 -m venv --copies --without-pip`, filled
//     by the build machine's pip through --python). With PIP_FIND_LINKS (a
//     config var), PLAT_PIP_FIND_LINKS (the build machine's environment)
//     or a wheels/ directory in the app, pip installs with --no-index
//     --find-links, so no package index is needed. No dependencies: no
//     virtualenv. Default: web: python3 app.py when app.py exists.
//   - node: `npm ci` with a lockfile, `npm install` without, then `npm run
//     build` when package.json has that script. Default: web: npm start
//     when there is a start script or server.js.
//   - static: web: python3 -m http.server $PORT --bind 0.0.0.0 --directory
//     <site dir>.
//   - procfile: nothing to build.
//
// The virtualenv is made to move: the release directory is built in one
// place and runs from <deploy_to>/releases/<id>. Its activate scripts (which
// hold absolute paths) are removed, console scripts start with
// "#!/usr/bin/env python3", and .profile.d/python.sh activates it relative
// to the working directory. The interpreter copied into .venv belongs to
// the build machine's python3; on a host where it does not run,
// .profile.d/python.sh leaves the host's python3 first on PATH and puts
// .venv's site-packages on PYTHONPATH instead, which works for
// pure-Python packages and for binary wheels of the same Python version.
//
// # Processes
//
// The Procfile (`type: command` lines, # comments) is merged over the
// buildpacks' default process types (a later buildpack's defaults over an
// earlier one's) and written back to Dir/Procfile sorted by type. `web`
// gets PORT on the hosts. The `release` type is not a long-running process:
// the engine runs it once per push as a release task, on one host, before
// any switch. Hosts source .profile.d/*.sh in the release directory (with
// HOME set to it, as Heroku does) before starting a process or task: see
// hostcmd.SourceProfile.
//
// # Reproducibility
//
// The same source and inputs give the same bytes: the Procfile is sorted,
// nothing writes a timestamp, SOURCE_DATE_EPOCH is set (315532800, 1980-01-01,
// unless a config var sets it), Python runs with PYTHONDONTWRITEBYTECODE and
// pip with --no-compile, pyvenv.cfg loses its `command` line (it names the
// build directory), and Go builds with -trimpath -buildvcs=false.
//
// # Errors
//
// A failing buildpack returns a *CompileError naming it, with the last 20
// lines of its output; the whole output streams to BuildRequest.Output.
package buildpacks
