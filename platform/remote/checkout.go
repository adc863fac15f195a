package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// AppsDir is where an admin node keeps each app's checkout and state,
// relative to $HOME: APPS/APP/src is the checkout (the project dir, with
// its .plat store), and relative paths in plat.hcl (private settings)
// resolve from there, so "../APP-private/ENV" is APPS/APP/APP-private/ENV.
const AppsDir = ".plat/apps"

var (
	appName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	hexSHA  = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	refName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
)

// Checkout is the app's source as a pusher names it.
type Checkout struct {
	// Root is APPS/APP on the admin node (absolute).
	Root string
	// Remote is the app's git remote URL, as the pusher knows it.
	Remote string
	// Commit is the full commit SHA to check out.
	Commit string
	// Branch, when set, is the pusher's branch: the checkout is on a
	// local branch of that name at Commit, so a release records it.
	Branch string
}

// Dir is the checkout's work tree.
func (c Checkout) Dir() string { return filepath.Join(c.Root, "src") }

// AppRoot is APPS/APP under home, or an error when app is not a name.
func AppRoot(home, app string) (string, error) {
	if !appName.MatchString(app) {
		return "", fmt.Errorf("app name %q is not a name (letters, digits, '.', '_', '-')", app)
	}
	return filepath.Join(home, AppsDir, app), nil
}

// CheckRemote refuses a remote URL that carries a password or token: it
// would travel in an argv and sit in the admin node's checkout; the admin
// node fetches with its own credentials.
func CheckRemote(remote string) error {
	if remote == "" {
		return errors.New("no remote URL")
	}
	if u, err := url.Parse(remote); err == nil && u.User != nil {
		if _, set := u.User.Password(); set {
			return fmt.Errorf("the remote URL %s carries a password or token; the admin node fetches with its own credentials: use a URL without one", u.Redacted())
		}
	}
	if strings.HasPrefix(remote, "-") {
		return fmt.Errorf("the remote URL %q starts with '-'", remote)
	}
	return nil
}

// Prepare moves the checkout to c.Commit (fetching it from c.Remote when
// the checkout lacks it) and holds it there: the returned release ends
// the hold. Commands for one app share the hold; moving the checkout
// waits until every other command running in it has ended (waiting, if
// set, is called first, for a message). Files the app's repository
// does not track (its .plat store, ignored private settings) are left
// alone.
func Prepare(ctx context.Context, c Checkout, waiting func()) (release func(), err error) {
	if !hexSHA.MatchString(c.Commit) {
		return nil, fmt.Errorf("commit %q is not a full SHA", c.Commit)
	}
	if c.Branch != "" && (!refName.MatchString(c.Branch) || strings.Contains(c.Branch, "..")) {
		return nil, fmt.Errorf("branch %q is not a branch name", c.Branch)
	}
	if err := CheckRemote(c.Remote); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.Root, 0o700); err != nil {
		return nil, fmt.Errorf("app directory %s: %w", c.Root, err)
	}
	f, err := os.OpenFile(filepath.Join(c.Root, "checkout.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock checkout: %w", err)
	}
	release = func() { f.Close() }
	fail := func(err error) (func(), error) {
		f.Close()
		return nil, err
	}
	if err := flock(ctx, f, syscall.LOCK_SH, nil); err != nil {
		return fail(fmt.Errorf("lock checkout %s: %w", c.Dir(), err))
	}
	if c.at(ctx) {
		return release, nil
	}
	// Another command may be running in the tree: move it only alone.
	if err := flock(ctx, f, syscall.LOCK_EX, waiting); err != nil {
		return fail(fmt.Errorf("lock checkout %s: %w", c.Dir(), err))
	}
	if !c.at(ctx) {
		if err := c.move(ctx); err != nil {
			return fail(err)
		}
	}
	if err := flock(ctx, f, syscall.LOCK_SH, nil); err != nil {
		return fail(fmt.Errorf("lock checkout %s: %w", c.Dir(), err))
	}
	return release, nil
}

// at reports whether the checkout is at c.Commit (on c.Branch).
func (c Checkout) at(ctx context.Context) bool {
	head, err := git(ctx, c.Dir(), "rev-parse", "-q", "--verify", "HEAD")
	if err != nil || head != c.Commit {
		return false
	}
	branch, _ := git(ctx, c.Dir(), "symbolic-ref", "-q", "--short", "HEAD")
	return branch == c.Branch
}

// move fetches c.Commit if needed and checks it out.
func (c Checkout) move(ctx context.Context) error {
	dir := c.Dir()
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		if _, err := git(ctx, "", "init", "-q", dir); err != nil {
			return fmt.Errorf("create checkout %s: %w", dir, err)
		}
	}
	// origin is the pusher's remote: submodules with relative URLs
	// resolve against it, as in the pusher's clone.
	if _, err := git(ctx, dir, "config", "remote.origin.url", c.Remote); err != nil {
		return fmt.Errorf("set the checkout's origin: %w", err)
	}
	if _, err := git(ctx, dir, "cat-file", "-e", c.Commit+"^{commit}"); err != nil {
		// Most servers give a reachable commit by its SHA; for those that
		// do not, every branch and tag is fetched instead.
		_, err1 := git(ctx, dir, "fetch", "-q", "--no-tags", c.Remote, "+"+c.Commit+":refs/plat/fetched")
		if err1 != nil {
			if _, err2 := git(ctx, dir, "fetch", "-q", c.Remote, "+refs/heads/*:refs/plat/heads/*", "+refs/tags/*:refs/plat/tags/*"); err2 != nil {
				return fmt.Errorf("fetch commit %s from %s: %w", short(c.Commit), c.Remote, err2)
			}
		}
		if _, err := git(ctx, dir, "cat-file", "-e", c.Commit+"^{commit}"); err != nil {
			return fmt.Errorf("commit %s is not in %s: push it there first (git push), then push the environment again; (%v)", short(c.Commit), c.Remote, err1)
		}
	}
	args := []string{"-c", "advice.detachedHead=false", "checkout", "-q", "--force"}
	if c.Branch != "" {
		args = append(args, "-B", c.Branch, c.Commit)
	} else {
		args = append(args, "--detach", c.Commit)
	}
	if _, err := git(ctx, dir, args...); err != nil {
		return fmt.Errorf("check out %s in %s: %w", short(c.Commit), dir, err)
	}
	return nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// git runs git in dir (none: the current directory) and returns its
// trimmed stdout. It never prompts: a remote that wants credentials the
// admin node lacks fails.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	name := args[0]
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if s := strings.TrimSpace(errb.String()); s != "" {
			return "", fmt.Errorf("git %s: %s", name, s)
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(out.String()), nil
}

// flock takes (or converts to) how on f, waiting with ctx; waiting is
// called when the lock is not free at once.
func flock(ctx context.Context, f *os.File, how int, waiting func()) error {
	err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return err
	}
	if waiting != nil {
		waiting()
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), how) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// flock(2) is not interrupted by closing the file; the caller's
		// release closes it, and the kernel then drops whatever the
		// waiting call gets.
		return ctx.Err()
	}
}
