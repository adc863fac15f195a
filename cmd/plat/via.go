package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/plat-sh/plat/environments"
	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/remote"
	"github.com/plat-sh/plat/providers/ssh"
)

// viaCommands are the commands an environment's `via` sends to its admin
// node; every other command runs here.
var viaCommands = map[string]bool{"push": true, "rollback": true, "releases": true, "status": true, "diff": true, "lock": true, "promote": true}

// adminRun is set when this plat runs a command for a pusher on an admin
// node (via-exec): the command runs here whatever the environment's via.
type adminRun struct {
	checkout remote.Checkout
	// subdir is the project directory relative to the checkout.
	subdir string
	// pusher is who runs the command, as the pusher's machine names them.
	pusher string
}

// viaAdmin runs cmd on the admin node when the environment args[0] has a
// `via`, and reports whether it did (err is then the command's outcome).
// On the admin node itself it moves the app's checkout to the commit the
// pusher named and lets the command run here.
func (a *app) viaAdmin(cmd *cobra.Command, args []string) (bool, error) {
	return a.viaAdminFor(cmd, args, args[0], nil)
}

// viaPromote is viaAdmin for `promote FROM TO`: it runs where TO runs
// (the admin node TO's via names, or here). FROM must run in the same
// place, as its hosts and the store its build output is read from are
// reached from there: FROM's via must be TO's, written the same, or
// both have none.
func (a *app) viaPromote(cmd *cobra.Command, args []string) (bool, error) {
	return a.viaAdminFor(cmd, args, args[1], func(p *platform.Project, to *platform.Environment) error {
		from := p.Environment(args[0])
		if from == nil || from.Via == to.Via {
			return nil // an unknown FROM is the engine's error to report
		}
		where := func(e *platform.Environment) string {
			if e.Via == "" {
				return e.Name + " runs here (no via)"
			}
			return fmt.Sprintf("%s runs via %s", e.Name, e.Via)
		}
		return usageError{fmt.Errorf("promote %s %s: %s, but %s: promote runs where %s runs and reads %s's hosts and build output from there, so both must have the same via (the same admin node, written the same), or none",
			from.Name, to.Name, where(to), where(from), to.Name, from.Name)}
	})
}

// viaAdminFor is viaAdmin for environment env; check (if set) vets the
// project before anything runs here or there.
func (a *app) viaAdminFor(cmd *cobra.Command, args []string, env string, check func(*platform.Project, *platform.Environment) error) (bool, error) {
	if a.admin != nil {
		return false, a.admin.prepare(cmd.Context(), a)
	}
	// The command's own load gets this one (diagnostics print once).
	p, diags, err := a.loadDiags()
	if err != nil {
		a.loaded = &loadResult{p, diags, err}
		return false, nil
	}
	e := p.Environment(env)
	if e != nil && check != nil {
		if err := check(p, e); err != nil {
			a.loaded = &loadResult{p, diags, nil}
			return true, err
		}
	}
	if e == nil || e.Via == "" {
		a.loaded = &loadResult{p, diags, nil}
		return false, nil
	}
	return true, a.runVia(cmd, args, p, e)
}

// viaRequest is what the pusher sends the admin node.
type viaRequest struct {
	remote, commit, branch string
	subdir, file           string
	// ref replaces --ref's value (resolved here to a commit).
	ref string
}

// runVia runs cmd for environment e on e.Via over SSH.
func (a *app) runVia(cmd *cobra.Command, cmdArgs []string, p *platform.Project, e *platform.Environment) error {
	ctx := cmd.Context()
	req, err := a.viaSource(ctx, cmd, p, e)
	if err != nil {
		return err
	}
	args, err := a.viaArgs(cmd, cmdArgs, req)
	if err != nil {
		return err
	}
	login, host, port, err := environments.SplitDestination(e.Via)
	if err != nil {
		return usageError{fmt.Errorf("environment %s: via = %q %v", e.Name, e.Via, err)}
	}
	bin, err := remote.LocalBinary(thisBuild())
	if err != nil {
		return err
	}
	conn, err := ssh.Dial(ctx, ssh.HostSpec{Alias: host, User: login, Port: port})
	if err != nil {
		return fmt.Errorf("environment %s runs via %s: connect to the admin node: %w", e.Name, e.Via, err)
	}
	defer conn.Close()
	say := func(msg string) { fmt.Fprintf(a.stderr, "via %s: %s\n", e.Via, msg) }
	path, _, err := remote.Ensure(ctx, conn, bin, say)
	if err != nil {
		return fmt.Errorf("via %s: %w", e.Via, err)
	}

	opts := remote.RunOptions{Bin: path, Stdout: a.stdout, Stderr: a.stderr}
	execArgs := append([]string{"via-exec", "--app", p.App.Name, "--remote", req.remote, "--commit", req.commit,
		"--pusher", pusherName() + " (via " + e.Via + ")"}, subdirArgs(req.subdir)...)
	if req.branch != "" {
		execArgs = append(execArgs, "--branch", req.branch)
	}
	opts.Args = append(append(execArgs, "--"), args...)

	// A terminal gets a remote terminal (the live view, confirmations);
	// --json and pipes get the remote plat's own bytes.
	if f, ok := a.stdout.(*os.File); ok && !a.json && isatty.IsTerminal(f.Fd()) && os.Getenv("CI") == "" && !dumbTerminal() {
		t, err := a.openTerminal()
		if err != nil {
			return err
		}
		if t != nil {
			defer t.restore()
			opts.TTY, opts.Input = t.tty, a.stdin
		} else if cols, rows, err := term.GetSize(int(f.Fd())); err == nil {
			opts.TTY = &platform.TTY{Rows: uint16(rows), Cols: uint16(cols), Term: os.Getenv("TERM")}
		}
	}

	// The first interrupt cancels ctx (main's signal context); the
	// second disconnects at once.
	force, done := make(chan struct{}), make(chan struct{})
	defer close(done)
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigc)
	go func() {
		for n := 0; ; {
			select {
			case <-sigc:
				if n++; n == 2 {
					close(force)
					return
				}
			case <-done:
				return
			}
		}
	}()
	opts.Force = force
	opts.Cancelling = func() {
		say("interrupted: the admin node is cancelling the " + cmd.Name() + " (interrupt again to disconnect now)")
	}
	code, err := remote.Run(ctx, conn, opts)
	if err != nil {
		return fmt.Errorf("via %s: %w (the admin node may still be running it: plat status %s shows the hosts)", e.Via, err, e.Name)
	}
	a.exitCode = code
	return nil
}

func subdirArgs(subdir string) []string {
	if subdir == "" || subdir == "." {
		return nil
	}
	return []string{"--subdir", subdir}
}

// viaSource finds what the admin node checks out: this project's commit
// and the git remote it can fetch it from.
func (a *app) viaSource(ctx context.Context, cmd *cobra.Command, p *platform.Project, e *platform.Environment) (*viaRequest, error) {
	git := func(args ...string) (string, error) {
		c := exec.CommandContext(ctx, "git", append([]string{"-C", p.Dir}, args...)...)
		out, err := c.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = errors.New(strings.TrimSpace(string(ee.Stderr)))
		}
		return strings.TrimSpace(string(out)), err
	}
	where := fmt.Sprintf("environment %s runs via %s, which fetches the app from its git remote", e.Name, e.Via)
	top, err := git("rev-parse", "--show-toplevel")
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %s is not in a git repository", where, p.Dir)}
	}
	req := &viaRequest{}
	if req.commit, err = git("rev-parse", "--verify", "-q", "HEAD^{commit}"); err != nil {
		return nil, usageError{fmt.Errorf("%s: the repository %s has no commits yet", where, top)}
	}
	req.branch, _ = git("symbolic-ref", "-q", "--short", "HEAD")
	if f := cmd.Flags().Lookup("ref"); f != nil && f.Changed && p.App.Source.Git == "" {
		sha, err := git("rev-parse", "--verify", "-q", f.Value.String()+"^{commit}")
		if err != nil {
			return nil, usageError{fmt.Errorf("--ref %s: no such commit in %s", f.Value.String(), top)}
		}
		req.commit, req.branch, req.ref = sha, "", sha
	}
	name := "origin"
	if req.branch != "" {
		if r, err := git("config", "--get", "branch."+req.branch+".remote"); err == nil && r != "" && r != "." {
			name = r
		}
	}
	url, err := git("remote", "get-url", name)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s, but %s has no remote %q\nhint: git remote add %s URL (a URL the admin node can fetch from), then git push", where, top, name, name)}
	}
	req.remote = absoluteRemote(top, url)
	if err := remote.CheckRemote(req.remote); err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", where, err)}
	}
	if dirty, _ := git("status", "--porcelain", "--untracked-files=no"); dirty != "" {
		fmt.Fprintf(a.stderr, "warning: %s builds commit %s; your uncommitted changes are not in it\n", e.Via, req.commit[:12])
	}

	// Where the project is in the repository, and its file.
	top, _ = filepath.EvalSymlinks(top)
	dir, _ := filepath.EvalSymlinks(p.Dir)
	if req.subdir, err = filepath.Rel(top, dir); err != nil || strings.HasPrefix(req.subdir, "..") {
		return nil, usageError{fmt.Errorf("%s: the project %s is not inside the repository %s", where, p.Dir, top)}
	}
	file := a.fileName()
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	if req.file, err = filepath.Rel(dir, file); err != nil || strings.HasPrefix(req.file, "..") {
		return nil, usageError{fmt.Errorf("%s: the project file %s must be inside the project directory %s", where, file, dir)}
	}
	inRepo := filepath.ToSlash(filepath.Join(req.subdir, req.file))
	if _, err := git("cat-file", "-e", req.commit+":"+inRepo); err != nil {
		return nil, usageError{fmt.Errorf("%s: %s is not committed in %s, so the admin node would not have it; commit it and git push", where, inRepo, req.commit[:12])}
	}
	return req, nil
}

// scpLike is git's user@host:path remote syntax.
var scpLike = regexp.MustCompile(`^[^/:@]+(@[^/:]+)?:`)

// absoluteRemote makes a remote that is a path absolute (the admin node
// cannot know where this repository is); URLs are kept as written.
func absoluteRemote(top, url string) string {
	if strings.Contains(url, "://") || scpLike.MatchString(url) || filepath.IsAbs(url) {
		return url
	}
	return filepath.Join(top, url)
}

// viaArgs is cmd as the admin node runs it: the same command, arguments
// and flags, with the global flags that name files on this machine
// replaced by the checkout's.
func (a *app) viaArgs(cmd *cobra.Command, cmdArgs []string, req *viaRequest) ([]string, error) {
	if len(a.varFiles) > 0 {
		return nil, usageError{errors.New("--var-file names a file on this machine, and this environment's commands run on its admin node: commit the file and use it there from plat.hcl, or pass the values with --var")}
	}
	// Every flag as --name=value: no value can be taken for the command.
	var args []string
	if req.file != environments.DefaultFile {
		args = append(args, "--file="+req.file)
	}
	for _, v := range a.vars {
		args = append(args, "--var="+v)
	}
	if a.json {
		args = append(args, "--json=true")
	}
	if a.noColor || os.Getenv("NO_COLOR") != "" {
		args = append(args, "--no-color=true")
	}
	if a.verbose {
		args = append(args, "--verbose=true")
	}
	args = append(args, strings.Fields(cmd.CommandPath())[1:]...)
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Changed || f.Name == "help" {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+f.Name+"="+v)
			}
			return
		}
		v := f.Value.String()
		if f.Name == "ref" && req.ref != "" {
			v = req.ref
		}
		args = append(args, "--"+f.Name+"="+v)
	})
	return append(append(args, "--"), cmdArgs...), nil
}

// thisBuild is the running plat, as remote compares builds.
func thisBuild() remote.Build {
	v := readVersion(debug.ReadBuildInfo())
	return remote.Build{Version: v.Version, Commit: v.Commit, Modified: v.Modified, OS: v.OS, Arch: v.Arch}
}

// pusherName is user@machine, as the engine records a pusher.
func pusherName() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// newViaExecCommand is the admin node's side of via: run one command for
// a pusher in the app's checkout. Not for people (hidden).
type viaExecOptions struct {
	appName string
	run     adminRun
	command []string // the plat command to run, after --
}

func newViaExecCommand(a *app) *cobra.Command {
	var opts viaExecOptions
	cmd := &cobra.Command{
		Use:    "via-exec --app APP --remote URL --commit SHA [--branch B] [--subdir DIR] -- COMMAND…",
		Short:  "Run a command for a pusher on this admin node (used by via)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.command = args
			return runViaExec(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.appName, "app", "", "the app's name (its directory under ~/"+remote.AppsDir+")")
	f.StringVar(&opts.run.checkout.Remote, "remote", "", "the app's git remote `URL`")
	f.StringVar(&opts.run.checkout.Commit, "commit", "", "the commit `SHA` to run the command on")
	f.StringVar(&opts.run.checkout.Branch, "branch", "", "the pusher's `BRANCH`")
	f.StringVar(&opts.run.subdir, "subdir", "", "the project's `DIR` in the repository")
	f.StringVar(&opts.run.pusher, "pusher", "", "who runs the command")
	return cmd
}

func runViaExec(ctx context.Context, a *app, opts viaExecOptions) error {
	if len(opts.command) == 0 {
		return usageError{errors.New("via-exec: no command")}
	}
	probe := newRootCommand(&app{})
	probe.Flags().AddFlagSet(probe.PersistentFlags())
	c, _, err := probe.Traverse(opts.command)
	if err != nil || c == nil || !viaCommands[c.Name()] {
		return usageError{fmt.Errorf("via-exec runs %s, not %q", strings.Join(sortedNames(viaCommands), ", "), strings.Join(opts.command, " "))}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	root, err := remote.AppRoot(home, opts.appName)
	if err != nil {
		return usageError{err}
	}
	opts.run.checkout.Root = root
	dir := opts.run.checkout.Dir()
	if opts.run.subdir != "" {
		if !filepath.IsLocal(opts.run.subdir) {
			return usageError{fmt.Errorf("via-exec: --subdir %q is not inside the checkout", opts.run.subdir)}
		}
		dir = filepath.Join(dir, opts.run.subdir)
	}
	ctx, stop := adminContext(ctx, a.stdin)
	defer stop()
	inner := &app{stdin: a.stdin, stdout: a.stdout, stderr: a.stderr, admin: &opts.run}
	if f, ok := a.stdin.(*os.File); !ok || !isatty.IsTerminal(f.Fd()) {
		inner.stdin = strings.NewReader("") // adminContext reads it
	}
	a.exitCode = runApp(ctx, inner, append([]string{"-C", dir}, opts.command...))
	return nil
}

func sortedNames(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// prepare moves the checkout to the pusher's commit and holds it until
// the command ends.
func (r *adminRun) prepare(ctx context.Context, a *app) error {
	release, err := remote.Prepare(ctx, r.checkout, func() {
		fmt.Fprintf(a.stderr, "waiting for the other plat commands running in %s to end before checking out %s\n", r.checkout.Dir(), r.checkout.Commit[:12])
	})
	if err != nil {
		return err
	}
	a.onClose(release)
	return nil
}

// adminContext is ctx, also cancelled when the pusher goes away: its end
// of stdin closing (how via cancels without a terminal, and what a lost
// connection looks like) or a hangup (a lost connection with a terminal).
// A broken stdout (the pusher gone) must not kill plat before it has run
// its cancel path, so SIGPIPE is caught rather than fatal.
func adminContext(ctx context.Context, stdin io.Reader) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGHUP {
					cancel()
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	if f, ok := stdin.(*os.File); !ok || !isatty.IsTerminal(f.Fd()) {
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			cancel()
		}()
	}
	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
}
