package environments

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform/filelock"
)

// gitURL is a shared source's git address, split: git = "git::URL?ref=REF".
type gitURL struct {
	remote string // what git fetches from; may hold credentials: never print it
	ref    string // "" means the remote's HEAD
}

// parseGitURL splits "git::https://host/ops.git?ref=v3" (the git:: prefix
// is optional; scp-like git@host:ops.git works too). ref is the only query
// parameter.
func parseGitURL(s string) (gitURL, error) {
	s = strings.TrimPrefix(s, "git::")
	if s == "" {
		return gitURL{}, errors.New("the git address is empty")
	}
	var g gitURL
	g.remote = s
	if i := strings.LastIndex(s, "?"); i >= 0 {
		q, err := url.ParseQuery(s[i+1:])
		if err != nil {
			return gitURL{}, fmt.Errorf("bad query %q: %v", s[i+1:], err)
		}
		for k := range q {
			if k != "ref" {
				return gitURL{}, fmt.Errorf("unknown parameter %q: the only one is ref, as in ?ref=v3", k)
			}
		}
		g.remote, g.ref = s[:i], q.Get("ref")
		if q.Has("ref") && g.ref == "" {
			return gitURL{}, errors.New("ref is empty: give a tag, branch or commit, as in ?ref=v3")
		}
	}
	if g.remote == "" {
		return gitURL{}, errors.New("the repository address is empty")
	}
	if strings.HasPrefix(g.ref, "-") || strings.HasPrefix(g.remote, "-") {
		return gitURL{}, errors.New("an address or ref may not start with '-'")
	}
	return g, nil
}

// redactURL hides credentials: all user info of an http(s) URL (a token
// is often the user name), the password of any other.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil || u.Host == "" {
		return s
	}
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		u.User = url.User("***")
	default:
		if _, has := u.User.Password(); !has {
			return s
		}
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
}

// display is the address as plat prints and locks it: the git:: form,
// credentials hidden.
func (g gitURL) display() string {
	s := "git::" + redactURL(g.remote)
	if g.ref != "" {
		s += "?ref=" + g.ref
	}
	return s
}

// refName is the ref as users read it.
func (g gitURL) refName() string {
	if g.ref == "" {
		return "HEAD"
	}
	return g.ref
}

// gitCache keeps one bare repository per remote and one checkout per
// commit under root:
//
//	root/<name>-<hash of the address>/repo.git
//	root/<name>-<hash of the address>/<commit>/   the files, read-only data
type gitCache struct {
	root string
}

// defaultCacheDir is the user's cache directory for shared sources.
func defaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for shared sources: %w", err)
	}
	return filepath.Join(d, "plat", "shared"), nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// dir is the cache directory of a remote, keyed by its address without
// credentials.
func (c gitCache) dir(g gitURL) string {
	key := redactURL(g.remote)
	if u, err := url.Parse(g.remote); err == nil && u.User != nil {
		u.User = nil
		key = u.String()
	}
	sum := sha256.Sum256([]byte(key))
	base := strings.TrimSuffix(filepath.Base(strings.TrimRight(key, "/")), ".git")
	base = unsafeChars.ReplaceAllString(base, "-")
	if len(base) > 32 {
		base = base[:32]
	}
	return filepath.Join(c.root, base+"-"+hex.EncodeToString(sum[:8]))
}

// checkout is where commit's files are, "" when not cached.
func (c gitCache) checkout(g gitURL, commit string) string {
	d := filepath.Join(c.dir(g), commit)
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	return ""
}

// gitTimeout bounds one git command (a fetch over a slow network).
const gitTimeout = 5 * time.Minute

// git runs git in the cache of g; its stderr is part of the error, with
// the address's credentials hidden.
func (c gitCache) git(g gitURL, extraEnv []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = c.dir(g)
	// Never prompt (completion, CI): a fetch that needs credentials fails.
	cmd.Env = append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0"), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		if red := redactURL(g.remote); red != g.remote {
			msg = strings.ReplaceAll(msg, g.remote, red)
		}
		if u, perr := url.Parse(g.remote); perr == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && p != "" {
				msg = strings.ReplaceAll(msg, p, "***")
			}
			if u.Scheme == "http" || u.Scheme == "https" {
				if n := u.User.Username(); len(n) >= 8 {
					msg = strings.ReplaceAll(msg, n, "***")
				}
			}
		}
		return "", fmt.Errorf("git %s: %s", subcommand(args), msg)
	}
	return strings.TrimSpace(out.String()), nil
}

// lock takes the cache directory's lock (two plat processes fetching the
// same remote at once), creating the directory and its bare repository.
func (c gitCache) lock(g gitURL) (unlock func(), err error) {
	d := c.dir(g)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	unlock, err = filelock.Lock(ctx, filepath.Join(d, "lock"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(d, "repo.git", "HEAD")); err != nil {
		if _, err := c.git(g, nil, "init", "--quiet", "--bare", "repo.git"); err != nil {
			unlock()
			return nil, err
		}
	}
	return unlock, nil
}

// fetch asks the remote for g's ref and returns the commit it names now.
// The cache lock must be held.
func (c gitCache) fetch(g gitURL) (string, error) {
	if _, err := c.git(g, nil, "--git-dir=repo.git", "fetch", "--quiet", "--no-tags", "--force", "--", g.remote, g.refName()); err != nil {
		return "", fmt.Errorf("fetch %s: %w", g.display(), err)
	}
	commit, err := c.git(g, nil, "--git-dir=repo.git", "rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}")
	if err != nil {
		return "", fmt.Errorf("fetch %s: %s is not a commit", g.display(), g.refName())
	}
	return commit, nil
}

// has reports whether the cached repository holds commit.
func (c gitCache) has(g gitURL, commit string) bool {
	_, err := c.git(g, nil, "--git-dir=repo.git", "cat-file", "-e", commit+"^{commit}")
	return err == nil
}

// extract writes commit's files to its checkout directory, atomically
// (a half-written checkout is never seen). The cache lock must be held.
func (c gitCache) extract(g gitURL, commit string) (string, error) {
	if d := c.checkout(g, commit); d != "" {
		return d, nil
	}
	base := c.dir(g)
	tmp, err := os.MkdirTemp(base, ".checkout-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	work := filepath.Join(tmp, "files")
	if err := os.Mkdir(work, 0o755); err != nil {
		return "", err
	}
	// A private index, so the bare repository's state is never touched.
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	if _, err := c.git(g, env, "--git-dir=repo.git", "--work-tree="+work, "-c", "core.hooksPath=/dev/null",
		"checkout", "--quiet", "--force", commit, "--", "."); err != nil {
		return "", fmt.Errorf("check out %s of %s: %w", short(commit), g.display(), err)
	}
	final := filepath.Join(base, commit)
	if err := os.Rename(work, final); err != nil {
		return "", err
	}
	return final, nil
}

// subcommand is the first argument of a git command line that is not an
// option.
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-c":
			i++
		case !strings.HasPrefix(args[i], "-"):
			return args[i]
		}
	}
	return ""
}

// short is a commit as people quote it.
func short(commit string) string { return commit[:min(7, len(commit))] }
