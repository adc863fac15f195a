package buildpacks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/filelock"
)

// herokuStep runs a Heroku classic (v2) buildpack from a path or git URL.
type herokuStep struct {
	ref   bpRef
	index int // position in the chain, for its working copy
}

func (h *herokuStep) defaultName() string {
	src := h.ref.path
	if h.ref.kind == refGit {
		src = strings.TrimSuffix(strings.TrimRight(h.ref.url, "/"), ".git")
		if i := strings.LastIndexAny(src, "/:"); i >= 0 {
			src = src[i+1:]
		}
		return src
	}
	return filepath.Base(src)
}

// cacheKey names the buildpack's CACHE_DIR: the same source keeps its
// cache across refs, as Heroku keeps it across buildpack versions.
func (h *herokuStep) cacheKey() string {
	src := h.ref.path
	if h.ref.kind == refGit {
		src = h.ref.url
	}
	return safeName(h.defaultName()) + "-" + shortHash(src)
}

func (h *herokuStep) run(ctx context.Context, bd *build) (string, map[string]string, error) {
	name := h.defaultName()
	src := h.ref.path
	if h.ref.kind == refGit {
		bd.out.printf("-----> fetching buildpack %s\n", h.ref.entry)
		var err error
		if src, err = bd.b.fetchGit(ctx, bd, h.ref.url, h.ref.ref); err != nil {
			return name, nil, err
		}
	}
	// A fresh copy per build: compile may write an export file (or
	// anything else) into the buildpack, which must not reach the next build.
	bp := filepath.Join(bd.work, "buildpacks", fmt.Sprint(h.index))
	if err := copyTree(src, bp); err != nil {
		return name, nil, fmt.Errorf("copy buildpack %s: %w", h.ref.entry, err)
	}
	// Archives and some checkouts lose the executable bits the API needs.
	for _, s := range []string{"detect", "compile", "release"} {
		if fileExists(bp, "bin", s) {
			if err := os.Chmod(filepath.Join(bp, "bin", s), 0o755); err != nil {
				return name, nil, fmt.Errorf("copy buildpack %s: %w", h.ref.entry, err)
			}
		}
	}
	env := bd.herokuEnv()

	if fileExists(bp, "bin", "detect") {
		var stdout bytes.Buffer
		err := run(ctx, bd.b.log, bd.out, command{dir: bd.dir, env: env, args: []string{filepath.Join(bp, "bin", "detect"), bd.dir}, stdout: &stdout, label: "bin/detect"})
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return name, nil, fmt.Errorf("detect: buildpack %s does not apply to this app (bin/detect exited %d)", h.ref.entry, exit.ExitCode())
		}
		if err != nil {
			return name, nil, fmt.Errorf("detect: %w", err)
		}
		if first, _, _ := strings.Cut(strings.TrimSpace(stdout.String()), "\n"); strings.TrimSpace(first) != "" {
			name = strings.TrimSpace(first)
		}
	}
	bd.out.printf("-----> %s app detected\n", name)

	cache := filepath.Join(bd.cacheDir, "buildpacks", h.cacheKey())
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return name, nil, fmt.Errorf("make cache directory: %w", err)
	}
	envDir, err := bd.makeEnvDir()
	if err != nil {
		return name, nil, err
	}
	compile := filepath.Join(bp, "bin", "compile")
	if err := run(ctx, bd.b.log, bd.out, command{dir: bd.dir, env: env, args: []string{compile, bd.dir, cache, envDir}, label: "bin/compile"}); err != nil {
		return name, nil, err
	}

	if fileExists(bp, "export") {
		exported, err := sourceExport(ctx, bd, env, filepath.Join(bp, "export"))
		if err != nil {
			return name, nil, err
		}
		for k, v := range exported {
			bd.exports[k] = v
		}
	}

	if !fileExists(bp, "bin", "release") {
		return name, nil, nil
	}
	var stdout bytes.Buffer
	if err := run(ctx, bd.b.log, bd.out, command{dir: bd.dir, env: env, args: []string{filepath.Join(bp, "bin", "release"), bd.dir}, stdout: &stdout, label: "bin/release"}); err != nil {
		return name, nil, err
	}
	rel, err := parseRelease(stdout.Bytes())
	if err != nil {
		return name, nil, err
	}
	if len(rel.ConfigVars) > 0 {
		script, err := configVarsScript(rel.ConfigVars)
		if err != nil {
			return name, nil, err
		}
		if err := writeProfileScript(bd.dir, "000-"+safeName(name)+"-config-vars.sh", script); err != nil {
			return name, nil, err
		}
	}
	return name, rel.DefaultProcessTypes, nil
}

// releaseInfo is what bin/release prints.
type releaseInfo struct {
	DefaultProcessTypes map[string]string `yaml:"default_process_types"`
	ConfigVars          map[string]string `yaml:"config_vars"`
	Addons              []string          `yaml:"addons"`
}

func parseRelease(data []byte) (*releaseInfo, error) {
	var rel releaseInfo
	if len(bytes.TrimSpace(data)) == 0 {
		return &rel, nil
	}
	if err := yaml.Unmarshal(data, &rel); err != nil {
		return nil, fmt.Errorf("parse bin/release output: %w", err)
	}
	for t := range rel.DefaultProcessTypes {
		if !platform.ValidProcessType(t) {
			return nil, fmt.Errorf("parse bin/release output: process type %q is not letters, digits, - and _", t)
		}
	}
	return &rel, nil
}

// configVarsScript gives bin/release's config_vars as defaults: a value
// the host already has wins.
func configVarsScript(vars map[string]string) (string, error) {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		if !envNameRE.MatchString(k) {
			return "", fmt.Errorf("parse bin/release output: config var %q is not a valid environment variable name", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Defaults from a buildpack's bin/release config_vars, written by plat.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "if [ -z \"${%s+set}\" ]; then %s=%s; export %s; fi\n", k, k, shellQuote(vars[k]), k)
	}
	return b.String(), nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// makeEnvDir writes Heroku's ENV_DIR once per build: one 0600 file per
// config var, named like it, holding its value.
func (bd *build) makeEnvDir() (string, error) {
	if bd.envDir != "" {
		return bd.envDir, nil
	}
	d := filepath.Join(bd.work, "env")
	if err := os.Mkdir(d, 0o700); err != nil {
		return "", fmt.Errorf("make ENV_DIR: %w", err)
	}
	for k, v := range bd.config {
		if err := os.WriteFile(filepath.Join(d, k), []byte(v), 0o600); err != nil {
			return "", fmt.Errorf("make ENV_DIR: %w", err)
		}
	}
	bd.envDir = d
	return d, nil
}

// ignoredShellVars are set by sh itself, not by an export file.
var ignoredShellVars = map[string]bool{"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true}

// sourceExport sources a buildpack's export file in sh and returns the
// variables it set or changed.
func sourceExport(ctx context.Context, bd *build, env env, file string) (map[string]string, error) {
	var stdout bytes.Buffer
	err := run(ctx, bd.b.log, bd.out, command{
		dir: bd.dir, env: env, stdout: &stdout,
		args:  []string{"/bin/sh", "-c", `. "$1" >&2 && exec env -0`, "sh", file},
		label: "sh (sourcing the export file)",
	})
	if err != nil {
		return nil, fmt.Errorf("source export file: %w", err)
	}
	changed := map[string]string{}
	for _, kv := range strings.Split(stdout.String(), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || ignoredShellVars[k] {
			continue
		}
		if old, had := env[k]; !had || old != v {
			changed[k] = v
		}
	}
	return changed, nil
}

// fetchGit brings url at ref (default branch when "") into the git cache
// with a shallow fetch and returns the checkout. A lock file serialises
// builds sharing the cache.
func (b *Builder) fetchGit(ctx context.Context, bd *build, url, ref string) (string, error) {
	root := b.gitCache
	if root == "" {
		root = filepath.Join(bd.cacheDir, "git")
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("fetch buildpack %s: %w", url, err)
	}
	name := strings.TrimSuffix(path.Base(strings.TrimRight(url, "/")), ".git")
	dir := filepath.Join(root, safeName(name)+"-"+shortHash(url+"#"+ref))
	unlock, err := filelock.Lock(ctx, dir+".lock")
	if err != nil {
		return "", fmt.Errorf("fetch buildpack %s: %w", url, err)
	}
	defer unlock()

	genv := envFrom(os.Environ()).with(map[string]string{"GIT_TERMINAL_PROMPT": "0"})
	git := func(args ...string) error {
		return run(ctx, b.log, bd.out, command{dir: root, env: genv, args: append([]string{"git"}, args...)})
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		if err := os.RemoveAll(dir); err != nil {
			return "", fmt.Errorf("fetch buildpack %s: %w", url, err)
		}
		if err := git("init", "-q", dir); err != nil {
			return "", fmt.Errorf("fetch buildpack %s: %w", url, err)
		}
		if err := git("-C", dir, "remote", "add", "origin", url); err != nil {
			return "", fmt.Errorf("fetch buildpack %s: %w", url, err)
		}
	}
	want := ref
	if want == "" {
		want = "HEAD"
	}
	if err := git("-C", dir, "fetch", "-q", "--depth", "1", "--no-tags", "origin", want); err != nil {
		return "", fmt.Errorf("fetch buildpack %s (ref %s): %w\nhint: check the URL and that the ref exists", url, want, err)
	}
	if err := git("-C", dir, "checkout", "-q", "--force", "--detach", "FETCH_HEAD"); err != nil {
		return "", fmt.Errorf("fetch buildpack %s: %w", url, err)
	}
	if err := git("-C", dir, "clean", "-q", "-f", "-d", "-x"); err != nil {
		return "", fmt.Errorf("fetch buildpack %s: %w", url, err)
	}
	return dir, nil
}

var unsafeNameRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string {
	s = strings.Trim(unsafeNameRE.ReplaceAllString(s, "-"), "-.")
	if s == "" {
		return "buildpack"
	}
	return s
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// copyTree copies src to dst (which must not exist) with modes and
// symlinks, leaving out .git.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.Name() == ".git" && rel != "." {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil // sockets, devices: not part of a buildpack
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
