package engine

import (
	"archive/tar"
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
	"path/filepath"
	"sort"
	"strings"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/filelock"
	"github.com/plat-sh/plat/platform/hostcmd"
)

// source is a fetched checkout.
type source struct {
	Dir    string // the app tree (stripped of VCS metadata)
	SHA    string
	Ref    string
	Author string
	Dirty  bool
	// Untracked lists the files of the working tree git does not track
	// and does not ignore: a release of the commit leaves them out.
	Untracked []untrackedFile
}

type untrackedFile struct {
	path string // relative to the project directory, slash-separated
	size int64
}

// vcsDirs are stripped from every release, as dirs AND as files (a
// submodule's .git is a file).
var vcsDirs = map[string]bool{".git": true, ".hg": true, ".svn": true, ".plat": true}

// stateOrVCS reports whether a repository path lies in a VCS or state
// directory, which no release contains.
func stateOrVCS(path string) bool {
	for _, seg := range strings.Split(path, "/") {
		if vcsDirs[seg] {
			return true
		}
	}
	return false
}

// fetch puts the source at ref into a fresh directory under work: the
// project repository's HEAD (committed content, submodules included), a
// remote repository (cached clone, fetched), or a plain directory.
//
// Git sources are checked out into a checkout kept per environment under
// .plat/cache/checkout (a --shared clone: the objects stay in the source
// repository), so a push after a small commit rewrites only the files
// that changed instead of creating the whole tree again; `git clean -ffdx`
// removes what the previous build added. The caller holds the checkout's
// lock (lockCheckout).
func (e *Engine) fetch(ctx context.Context, work, ref, env string) (*source, error) {
	app := e.Project.App
	dst := filepath.Join(work, "src")
	src := &source{Dir: dst, Ref: ref}
	var repo string
	switch {
	case app.Source.Git != "":
		var err error
		repo, err = e.cachedClone(ctx, app.Source.Git)
		if err != nil {
			return nil, err
		}
		if ref == "" {
			ref = app.Source.Ref
		}
		if ref == "" && app.Source.Branch != "" {
			ref = "origin/" + app.Source.Branch
		}
		if ref == "" {
			ref = "origin/HEAD"
		}
	default:
		top, err := git(ctx, e.Project.Dir, "rev-parse", "--show-toplevel")
		if err != nil {
			// Not a git repository: deploy the directory as it is.
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return nil, err
			}
			if err := copyTree(e.Project.Dir, dst); err != nil {
				return nil, fmt.Errorf("copy %s: %w", e.Project.Dir, err)
			}
			src.Dir = dst
			return src, nil
		}
		repo = strings.TrimSpace(top)
		if ref == "" {
			ref = "HEAD"
			if st, _ := git(ctx, repo, "status", "--porcelain", "--untracked-files=no"); strings.TrimSpace(st) != "" {
				src.Dirty = true
			}
			src.Untracked = untrackedFiles(ctx, e.Project.Dir)
		}
	}
	sha, err := git(ctx, repo, "rev-parse", "--verify", ref+"^{commit}")
	if err != nil && ref == "HEAD" && app.Source.Git == "" {
		if _, herr := git(ctx, repo, "rev-parse", "--verify", "-q", "HEAD"); herr != nil {
			return nil, fmt.Errorf("%w: the repository %s has no commits yet: plat pushes a commit (git add -A && git commit, then plat push)", ErrConfig, repo)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s in %s: %w", ref, repo, err)
	}
	src.SHA = strings.TrimSpace(sha)
	src.Ref = ref
	if ref == "HEAD" {
		if b, err := git(ctx, repo, "rev-parse", "--abbrev-ref", "HEAD"); err == nil && strings.TrimSpace(b) != "HEAD" {
			src.Ref = strings.TrimSpace(b)
		}
	}
	if a, err := git(ctx, repo, "log", "-1", "--format=%an <%ae>", src.SHA); err == nil {
		src.Author = strings.TrimSpace(a)
	}
	dst = e.checkoutDir(env)
	src.Dir = dst
	if err := checkout(ctx, repo, src.SHA, dst); err != nil {
		return nil, err
	}
	if app.Source.Submodules || app.Source.Git == "" {
		if err := e.fetchSubmodules(ctx, repo, src.SHA, dst); err != nil {
			return nil, err
		}
	}
	// The app may live in a subdirectory of the repository.
	if app.Source.Git == "" {
		rel, err := filepath.Rel(repo, e.Project.Dir)
		if err == nil && rel != "." {
			src.Dir = filepath.Join(dst, rel)
		}
	}
	if app.Source.Dir != "" {
		src.Dir = filepath.Join(src.Dir, filepath.FromSlash(app.Source.Dir))
	}
	if _, err := os.Stat(src.Dir); err != nil {
		return nil, fmt.Errorf("app directory %s is not in commit %s", src.Dir, short(src.SHA))
	}
	return src, nil
}

// untrackedFiles lists the files under dir that git neither tracks nor
// ignores (ls-files --others --exclude-standard), biggest first. It is a
// warning's input: a failure lists nothing.
func untrackedFiles(ctx context.Context, dir string) []untrackedFile {
	out, err := git(ctx, dir, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return nil
	}
	var files []untrackedFile
	for _, p := range strings.Split(out, "\x00") {
		if p == "" || stateOrVCS(p) {
			continue
		}
		f := untrackedFile{path: p}
		if fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(p))); err == nil {
			f.size = fi.Size()
		}
		files = append(files, f)
	}
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].size != files[j].size {
			return files[i].size > files[j].size
		}
		return files[i].path < files[j].path
	})
	return files
}

// untrackedWarning is one line naming how many files the release leaves
// out and the biggest few.
func untrackedWarning(files []untrackedFile) string {
	const shown = 3
	var names []string
	for _, f := range files[:min(shown, len(files))] {
		names = append(names, fmt.Sprintf("%s (%s)", f.path, humanBytes(f.size)))
	}
	more := ""
	if len(files) > shown {
		more = fmt.Sprintf(" and %d more", len(files)-shown)
	}
	noun := "files are"
	if len(files) == 1 {
		noun = "file is"
	}
	return fmt.Sprintf("warning: %d untracked %s not in the release (git add or .gitignore them): %s%s",
		len(files), noun, strings.Join(names, ", "), more)
}

// fetchSubmodules extracts the submodule commits recorded in sha, from
// the submodules' own repositories (already checked out in a working
// tree, or cloned into the cache for remote sources).
func (e *Engine) fetchSubmodules(ctx context.Context, repo, sha, dst string) error {
	out, err := git(ctx, repo, "ls-tree", "-r", "-z", sha)
	if err != nil {
		return err
	}
	for _, rec := range strings.Split(out, "\x00") {
		meta, path, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		if len(f) != 3 || f[1] != "commit" {
			continue
		}
		if stateOrVCS(path) {
			// A repository committed by mistake inside plat's state (a
			// build checkout under .plat): never part of a release.
			continue
		}
		subSHA := f[2]
		subRepo := filepath.Join(repo, filepath.FromSlash(path))
		if _, err := git(ctx, subRepo, "cat-file", "-e", subSHA+"^{commit}"); err != nil {
			// Not checked out here: initialise it (remote sources).
			if _, err := git(ctx, repo, "submodule", "update", "--init", "--", path); err != nil {
				return fmt.Errorf("submodule %s: %w", path, err)
			}
		}
		target := filepath.Join(dst, filepath.FromSlash(path))
		// The superproject's checkout leaves a submodule's directory
		// alone: empty it so files deleted upstream do not linger.
		if err := os.RemoveAll(target); err != nil {
			return err
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		if err := gitArchive(ctx, subRepo, subSHA, target); err != nil {
			return fmt.Errorf("submodule %s: %w", path, err)
		}
		if err := e.fetchSubmodules(ctx, subRepo, subSHA, target); err != nil {
			return err
		}
	}
	return nil
}

// checkoutDir is the environment's kept checkout.
func (e *Engine) checkoutDir(env string) string {
	return filepath.Join(e.StateDir, "cache", "checkout", env)
}

// lockCheckout serialises builds of one environment on this machine (a
// push holds the deploy lock, but `push --plan` does not).
func (e *Engine) lockCheckout(ctx context.Context, env string) (func(), error) {
	return filelock.Lock(ctx, filepath.Join(e.StateDir, "cache", "checkout", env+".lock"))
}

// checkout brings dst to commit sha of repo, touching only what differs.
func checkout(ctx context.Context, repo, sha, dst string) error {
	if _, err := os.Stat(filepath.Join(dst, ".git")); err != nil {
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if _, err := git(ctx, "", "clone", "--quiet", "--shared", "--no-checkout", repo, dst); err != nil {
			return fmt.Errorf("prepare the build checkout: %w", err)
		}
	}
	if _, err := git(ctx, dst, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", "--detach", sha); err != nil {
		return fmt.Errorf("check out %s: %w", short(sha), err)
	}
	if _, err := git(ctx, dst, "clean", "-q", "-ffdx"); err != nil {
		return fmt.Errorf("clean the build checkout: %w", err)
	}
	return nil
}

// cachedClone keeps a bare-ish mirror of a remote under .plat/cache/git and
// fetches it (git pull, without a work tree).
func (e *Engine) cachedClone(ctx context.Context, url string) (string, error) {
	sum := sha256.Sum256([]byte(url))
	dir := filepath.Join(e.StateDir, "cache", "git", hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		if _, err := git(ctx, dir, "fetch", "--quiet", "--prune", "--tags", "origin"); err != nil {
			return "", fmt.Errorf("fetch %s: %w", url, err)
		}
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if _, err := git(ctx, "", "clone", "--quiet", "--no-checkout", url, dir); err != nil {
		return "", fmt.Errorf("clone %s: %w", url, err)
	}
	return dir, nil
}

// gitEnv is the environment of every git plat runs.
func gitEnv() []string { return append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C") }

// gitSmallWindows go before every git command plat runs. Pack windows
// are kept small: git maps pack files in windows of up to 1 GiB by
// default, and every page of a big file it checks out stays in its
// resident set (a 1 GiB file made a checkout's peak RSS 1 GiB; with
// these, 70 MB).
var gitSmallWindows = []string{"-c", "core.packedGitWindowSize=16m", "-c", "core.packedGitLimit=64m"}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append(append([]string{}, gitSmallWindows...), args...)...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out.String(), nil
}

// gitArchive extracts the tree of sha into dst.
func gitArchive(ctx context.Context, repo, sha, dst string) error {
	cmd := exec.CommandContext(ctx, "git", append(append([]string{}, gitSmallWindows...), "archive", "--format=tar", sha)...)
	cmd.Dir = repo
	cmd.Env = gitEnv()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	xerr := untar(pipe, dst)
	if xerr != nil {
		_, _ = io.Copy(io.Discard, pipe)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %s", short(sha), strings.TrimSpace(errb.String()))
	}
	return xerr
}

func untar(r io.Reader, dst string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if name == "." || strings.HasPrefix(name, "..") || filepath.IsAbs(name) {
			continue
		}
		p := filepath.Join(dst, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeSymlink:
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		case tar.TypeReg:
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			mode := os.FileMode(0o644)
			if h.Mode&0o100 != 0 {
				mode = 0o755
			}
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		}
	}
}

// copyTree copies a directory, leaving out VCS metadata and .plat.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel != "." && vcsDirs[d.Name()] {
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
			return os.MkdirAll(target, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case info.Mode().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// stripVCS removes .git (dirs and files), .hg and .svn at any depth.
func stripVCS(dir string) error {
	var doomed []string
	top := filepath.Join(dir, ".git")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == top {
			return filepath.SkipDir // the build checkout's own repository: never in a release
		}
		if p != dir && vcsDirs[d.Name()] {
			doomed = append(doomed, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range doomed {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// overlayPrivate copies the private settings directory over the tree,
// files 0600, and returns their relative paths. Private settings are
// regular files: a symbolic link among them is refused (its content may
// be anywhere), and so is a private file whose directory in the app tree
// is a symbolic link (the copy would land wherever it points).
func overlayPrivate(privateDir, dst string) (map[string]bool, error) {
	names := map[string]bool{}
	if privateDir == "" {
		return names, nil
	}
	st, err := os.Stat(privateDir)
	if err != nil {
		return nil, fmt.Errorf("private settings directory %s: %w", privateDir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("private settings %s is not a directory", privateDir)
	}
	err = filepath.WalkDir(privateDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != privateDir && vcsDirs[d.Name()] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(privateDir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			return fmt.Errorf("private settings: %s is a symbolic link (to %s): private settings must be regular files in %s, plat reads nothing outside it", p, l, privateDir)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if err := noLinkBelow(dst, filepath.Dir(rel)); err != nil {
			return fmt.Errorf("private settings: %s: %w", p, err)
		}
		target := filepath.Join(dst, rel)
		_ = os.Remove(target)
		if err := copyFile(p, target, 0o600); err != nil {
			return err
		}
		if err := os.Chmod(target, 0o600); err != nil {
			return err
		}
		names[filepath.ToSlash(rel)] = true
		return nil
	})
	return names, err
}

// noLinkBelow fails when a directory on the way from root to root/rel
// is a symbolic link.
func noLinkBelow(root, rel string) error {
	if rel == "." {
		return nil
	}
	p := root
	for _, el := range strings.Split(filepath.ToSlash(rel), "/") {
		p = filepath.Join(p, el)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			r, _ := filepath.Rel(root, p)
			return fmt.Errorf("%s in the app is a symbolic link: refusing to write a private file through it", filepath.ToSlash(r))
		}
	}
	return nil
}

// runLocal runs a build-machine command with output streamed to w.
func runLocal(ctx context.Context, dir string, env []string, argv []string, w io.Writer) error {
	return runLocalVia(ctx, dir, env, argv, nil, w)
}

// runInBuild runs a build task's argv in the built tree dir the way hosts
// run the release's commands: .profile.d sourced (the buildpacks' venv,
// PATH and exports), with bash where there is one (hostcmd.InDir).
func runInBuild(ctx context.Context, dir string, env []string, argv []string, w io.Writer) error {
	if len(argv) == 0 {
		return errors.New("empty command")
	}
	return runLocalVia(ctx, dir, env, argv, hostcmd.InDir(dir, argv).Args, w)
}

// runLocalVia runs argv (through via, when set) and names argv in errors.
func runLocalVia(ctx context.Context, dir string, env []string, argv, via []string, w io.Writer) error {
	if len(argv) == 0 {
		return errors.New("empty command")
	}
	run := argv
	if via != nil {
		run = via
	}
	cmd := exec.CommandContext(ctx, run[0], run[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	tail := &tailBuffer{}
	out := io.MultiWriter(w, tail)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		t := strings.TrimSpace(tail.String())
		if lines := strings.Split(t, "\n"); len(lines) > 20 {
			t = strings.Join(lines[len(lines)-20:], "\n")
		}
		if t != "" {
			return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, t)
		}
		return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return nil
}

// sourceKey identifies a build's inputs when the source is the project's
// git repository: the commit, where the app is in it, the buildpacks, the
// build tasks, the config and the private settings. Pushing inputs whose
// release every host already runs is up to date without a build, as
// pushing the same commit to Heroku is (--force rebuilds). It returns ""
// when there is no such key (a remote or plain-directory source) and the
// commit the key names.
func (e *Engine) sourceKey(ctx context.Context, env *platform.Environment, ref string) (key, sha string) {
	app := e.Project.App
	if app.Source.Git != "" {
		return "", ""
	}
	top, err := git(ctx, e.Project.Dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", ""
	}
	repo := strings.TrimSpace(top)
	if ref == "" {
		ref = "HEAD"
	}
	out, err := git(ctx, repo, "rev-parse", "--verify", ref+"^{commit}")
	if err != nil {
		return "", ""
	}
	sha = strings.TrimSpace(out)
	h := sha256.New()
	rel, _ := filepath.Rel(repo, e.Project.Dir)
	fmt.Fprintf(h, "plat source key 1\ncommit %s\ndir %s\nsource dir %s\nbuildpacks %q\nconfig %s\n",
		sha, filepath.ToSlash(rel), app.Source.Dir, app.Buildpacks, configHash(app, env))
	for _, t := range app.Tasks {
		if t.When == platform.PhaseBuild {
			fmt.Fprintf(h, "task %s %q\n", t.Name, t.Run)
		}
	}
	if env.Private != "" {
		err := filepath.WalkDir(env.Private, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != env.Private && vcsDirs[d.Name()] && d.IsDir() {
				return filepath.SkipDir
			}
			if d.Type()&fs.ModeSymlink != 0 {
				// Refused when the release is built; a new link must not
				// look like nothing to push.
				fmt.Fprintf(h, "private-link %s\n", p)
				return nil
			}
			if !d.Type().IsRegular() || vcsDirs[d.Name()] {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			r, _ := filepath.Rel(env.Private, p)
			fmt.Fprintf(h, "private %s %x\n", filepath.ToSlash(r), sha256.Sum256(b))
			return nil
		})
		if err != nil {
			return "", ""
		}
	}
	return hex.EncodeToString(h.Sum(nil)), sha
}

// configHash identifies the environment settings that shape a release.
func configHash(app *platform.App, env *platform.Environment) string {
	h := sha256.New()
	keys := func(m map[string]string) []string {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	for _, k := range keys(app.Environ) {
		fmt.Fprintf(h, "app %s=%s\n", k, app.Environ[k])
	}
	for _, k := range keys(env.Environ) {
		fmt.Fprintf(h, "env %s=%s\n", k, env.Environ[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
