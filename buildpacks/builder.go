package buildpacks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/plat-sh/plat/platform"
)

// DefaultStack is the STACK buildpacks see unless a STACK config var or
// Options.Stack says otherwise: the Debian 12 image plat's hosts run.
const DefaultStack = "plat-bookworm"

// None, as the only buildpack, deploys the tree as it is: nothing is
// built, no file is changed, and the processes are the Procfile's, which
// must exist.
const None = "none"

// defaultSourceDateEpoch (1980-01-01, the earliest time a zip file holds)
// stands in for a source date when the app does not set SOURCE_DATE_EPOCH.
const defaultSourceDateEpoch = "315532800"

// Options configures a Builder.
type Options struct {
	// Stack is the STACK value buildpacks see when the config vars
	// (BuildRequest.Env) set none; "" means DefaultStack.
	Stack string
	// Logger gets operator-level detail (commands run); nil discards it.
	Logger *slog.Logger
	// GitCacheDir is where git-URL buildpacks are cloned and kept between
	// builds; "" means <BuildRequest.CacheDir>/git (or a directory removed
	// after the build when CacheDir is "" too).
	GitCacheDir string
	// BaseDir is what relative buildpack paths are relative to (the
	// directory holding plat.hcl); "" means the working directory.
	BaseDir string
}

// Builder runs buildpacks over a source tree. It holds no per-build state
// and is safe for concurrent use on different directories.
type Builder struct {
	stack    string
	log      *slog.Logger
	gitCache string
	baseDir  string
}

// New returns a Builder.
func New(opts Options) *Builder {
	b := &Builder{stack: opts.Stack, log: opts.Logger, gitCache: opts.GitCacheDir, baseDir: opts.BaseDir}
	if b.stack == "" {
		b.stack = DefaultStack
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return b
}

// Builtins returns the names of the built-in buildpacks in detection order.
func Builtins() []string {
	var names []string
	for _, bp := range builtins() {
		names = append(names, bp.name)
	}
	return names
}

// Detect returns the built-in buildpacks that apply to dir, in detection
// order (Build with no explicit buildpacks runs the first). Nothing applying is a
// *DetectError listing what was tried.
func (b *Builder) Detect(ctx context.Context, dir string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("detect buildpack: %w", err)
	}
	dir, err := appDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, bp := range builtins() {
		if bp.detect(dir) {
			names = append(names, bp.name)
		}
	}
	if len(names) == 0 {
		return nil, detectError(dir)
	}
	return names, nil
}

// DetectBuiltin returns the name of the built-in buildpack a build of dir
// with no buildpack named runs: the one detection plat push and plat init
// share. Nothing applying is a *DetectError.
func DetectBuiltin(dir string) (string, error) {
	dir, err := appDir(dir)
	if err != nil {
		return "", err
	}
	bp, err := detect(dir)
	return bp.name, err
}

// detect is the first built-in that applies to dir.
func detect(dir string) (builtin, error) {
	for _, bp := range builtins() {
		if bp.detect(dir) {
			return bp, nil
		}
	}
	return builtin{}, detectError(dir)
}

func detectError(dir string) *DetectError {
	derr := &DetectError{Dir: dir}
	for _, bp := range builtins() {
		derr.Tried = append(derr.Tried, DetectAttempt{Name: bp.name, LooksFor: bp.looksFor})
	}
	return derr
}

func appDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolve app directory %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("read app directory: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("read app directory: %s is not a directory", abs)
	}
	return abs, nil
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// build is the state of one Build call.
type build struct {
	b        *Builder
	dir      string
	cacheDir string
	work     string // removed when the build ends
	out      *output
	config   map[string]string
	base     env               // the machine's environment, STACK, SOURCE_DATE_EPOCH
	exports  map[string]string // set by earlier buildpacks' export files
	envDir   string            // Heroku's ENV_DIR, made on first use
}

// builtinEnv is what built-ins run with: config vars are visible to them.
func (bd *build) builtinEnv() env { return bd.base.with(bd.config).with(bd.exports) }

// herokuEnv is what Heroku buildpacks run with: config vars come through
// ENV_DIR only, as the API says.
func (bd *build) herokuEnv() env { return bd.base.with(bd.exports) }

// step is one buildpack of the chain.
type step interface {
	// run builds bd.dir and returns the buildpack's name and its default
	// process types. The name is returned on error too.
	run(ctx context.Context, bd *build) (string, map[string]string, error)
}

// Build runs the buildpacks over req.Dir (see the package doc for how they
// are chosen), writes the merged process types to req.Dir/Procfile and
// returns them. A buildpack that fails gives a *CompileError.
func (b *Builder) Build(ctx context.Context, req *platform.BuildRequest) (*platform.BuildResult, error) {
	if req == nil || req.Dir == "" {
		return nil, errors.New("build: no app directory given")
	}
	dir, err := appDir(req.Dir)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	for k := range req.Env {
		if !envNameRE.MatchString(k) {
			return nil, fmt.Errorf("build: config var %q is not a valid environment variable name (letters, digits and _, not starting with a digit)", k)
		}
	}
	// Fail on a broken Procfile before spending minutes on a build.
	procfile, err := readProcfile(dir)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	if slices.Contains(req.Buildpacks, None) {
		return buildNone(dir, req, procfile)
	}
	steps, err := b.plan(dir, req.Buildpacks)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}

	work, err := os.MkdirTemp("", "plat-build-")
	if err != nil {
		return nil, fmt.Errorf("build: make work directory: %w", err)
	}
	defer os.RemoveAll(work)
	cacheDir := req.CacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(work, "cache")
	}
	if cacheDir, err = filepath.Abs(cacheDir); err != nil {
		return nil, fmt.Errorf("build: resolve cache directory: %w", err)
	}
	base := envFrom(os.Environ())
	base["STACK"] = b.stack
	// A STACK config var wins: a buildpack written for Heroku checks its
	// stack (heroku-22, heroku-24) and refuses anything it does not know.
	if v := req.Env["STACK"]; v != "" {
		base["STACK"] = v
	}
	base["SOURCE_DATE_EPOCH"] = defaultSourceDateEpoch
	if v, ok := req.Env["SOURCE_DATE_EPOCH"]; ok {
		base["SOURCE_DATE_EPOCH"] = v
	}
	bd := &build{
		b: b, dir: dir, cacheDir: cacheDir, work: work, out: newOutput(req.Output),
		config: req.Env, base: base, exports: map[string]string{},
	}

	res := &platform.BuildResult{Processes: map[string]string{}}
	for _, s := range steps {
		bd.out.reset()
		name, procs, err := s.run(ctx, bd)
		if err != nil {
			return nil, &CompileError{Buildpack: name, Err: err, Tail: bd.out.lastLines()}
		}
		res.Buildpacks = append(res.Buildpacks, name)
		maps.Copy(res.Processes, procs)
	}

	user, err := readProcfile(dir)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	maps.Copy(res.Processes, user)
	if len(res.Processes) == 0 {
		bd.out.printf("-----> no process types: add a Procfile (`web: command`) to run something\n")
		return res, nil
	}
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), formatProcfile(res.Processes), 0o644); err != nil {
		return nil, fmt.Errorf("build: write Procfile: %w", err)
	}
	return res, nil
}

// buildNone is buildpack = "none": the tree as it is, with its Procfile.
func buildNone(dir string, req *platform.BuildRequest, procs map[string]string) (*platform.BuildResult, error) {
	if len(req.Buildpacks) != 1 {
		return nil, fmt.Errorf("build: buildpack %q deploys the tree as it is and cannot be combined with other buildpacks (got %s)", None, strings.Join(req.Buildpacks, ", "))
	}
	if !fileExists(dir, "Procfile") {
		return nil, fmt.Errorf("build: buildpack %q builds nothing, so the processes come from a Procfile (`web: command`), and %s has none", None, dir)
	}
	out := newOutput(req.Output)
	out.printf("-----> none: the tree as it is, processes from the Procfile\n")
	if len(procs) == 0 {
		out.printf("-----> no process types: the Procfile names none\n")
	}
	if procs == nil {
		procs = map[string]string{}
	}
	return &platform.BuildResult{Buildpacks: []string{None}, Processes: procs}, nil
}

// plan turns the requested buildpacks into steps, checking every entry
// before anything runs.
func (b *Builder) plan(dir string, entries []string) ([]step, error) {
	if len(entries) == 0 {
		bp, err := detect(dir)
		if err != nil {
			return nil, err
		}
		return []step{builtinStep{bp}}, nil
	}
	var steps []step
	for i, e := range entries {
		ref, err := b.parseRef(e)
		if err != nil {
			return nil, err
		}
		switch ref.kind {
		case refBuiltin:
			steps = append(steps, builtinStep{ref.builtin})
		default:
			steps = append(steps, &herokuStep{ref: ref, index: i})
		}
	}
	return steps, nil
}

type refKind int

const (
	refBuiltin refKind = iota
	refPath
	refGit
)

// bpRef is one parsed buildpack entry.
type bpRef struct {
	entry   string
	kind    refKind
	builtin builtin
	path    string // refPath: absolute directory
	url     string // refGit
	ref     string // refGit: after '#', "" for the default branch
}

var gitPrefixes = []string{"https://", "http://", "ssh://", "git://", "file://", "git@"}

func (b *Builder) parseRef(entry string) (bpRef, error) {
	r := bpRef{entry: entry}
	e := strings.TrimSpace(entry)
	if e == "" {
		return r, errors.New("empty buildpack name")
	}
	isGit := false
	for _, p := range gitPrefixes {
		if strings.HasPrefix(e, p) {
			isGit = true
		}
	}
	base, ref, _ := strings.Cut(e, "#")
	if isGit || strings.HasSuffix(base, ".git") {
		r.kind, r.url, r.ref = refGit, base, ref
		if !isGit { // a local repository: git needs it absolute
			p, err := b.resolvePath(base)
			if err != nil {
				return r, err
			}
			r.url = p
		}
		return r, nil
	}
	if strings.HasPrefix(e, ".") || strings.HasPrefix(e, "~") || strings.Contains(e, "/") {
		p, err := b.resolvePath(e)
		if err != nil {
			return r, err
		}
		if fi, err := os.Stat(filepath.Join(p, "bin", "compile")); err != nil || fi.IsDir() {
			return r, fmt.Errorf("use buildpack %s: no bin/compile in %s (a Heroku buildpack has bin/detect, bin/compile and bin/release)", entry, p)
		}
		r.kind, r.path = refPath, p
		return r, nil
	}
	for _, bp := range builtins() {
		if bp.name == e {
			r.builtin = bp
			return r, nil
		}
	}
	return r, fmt.Errorf("use buildpack %q: no built-in has that name (built-ins: %s); %q deploys the tree as it is\nhint: a Heroku buildpack is named by a path (./buildpacks/x) or a git URL", entry, strings.Join(Builtins(), ", "), None)
}

func (b *Builder) resolvePath(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("resolve buildpack path %s: %w", p, err)
		}
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	if !filepath.IsAbs(p) && b.baseDir != "" {
		p = filepath.Join(b.baseDir, p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("resolve buildpack path %s: %w", p, err)
	}
	return abs, nil
}

// builtinStep runs a built-in buildpack.
type builtinStep struct{ bp builtin }

func (s builtinStep) run(ctx context.Context, bd *build) (string, map[string]string, error) {
	bd.out.printf("-----> %s\n", s.bp.name)
	cache := filepath.Join(bd.cacheDir, s.bp.name)
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return s.bp.name, nil, fmt.Errorf("make cache directory: %w", err)
	}
	bc := &buildContext{dir: bd.dir, cacheDir: cache, env: bd.builtinEnv(), config: bd.config, out: bd.out, log: bd.b.log}
	procs, err := s.bp.compile(ctx, bc)
	return s.bp.name, procs, err
}

// builtin is a buildpack compiled into plat.
type builtin struct {
	name     string
	looksFor string
	detect   func(dir string) bool
	compile  func(ctx context.Context, bc *buildContext) (map[string]string, error)
}

// builtins lists the built-ins in detection order.
func builtins() []builtin {
	return []builtin{goBuildpack(), pythonBuildpack(), nodeBuildpack(), staticBuildpack(), procfileBuildpack()}
}

// buildContext is what a built-in gets.
type buildContext struct {
	dir      string
	cacheDir string
	env      env
	config   map[string]string
	out      *output
	log      *slog.Logger
}

// run runs args in the app directory with the buildpack's environment
// plus extra, echoing the command line to the output.
func (bc *buildContext) run(ctx context.Context, extra map[string]string, args ...string) error {
	bc.out.printf("       $ %s\n", strings.Join(args, " "))
	return run(ctx, bc.log, bc.out, command{dir: bc.dir, env: bc.env.with(extra), args: args})
}

func fileExists(dir string, name ...string) bool {
	fi, err := os.Stat(filepath.Join(append([]string{dir}, name...)...))
	return err == nil && fi.Mode().IsRegular()
}

func dirExists(dir string, name ...string) bool {
	fi, err := os.Stat(filepath.Join(append([]string{dir}, name...)...))
	return err == nil && fi.IsDir()
}

var _ platform.Builder = (*Builder)(nil)
