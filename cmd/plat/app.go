package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/buildpacks"
	"github.com/plat-sh/plat/environments"
	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/engine"
	"github.com/plat-sh/plat/platform/ui"
)

// Exit codes (DESIGN.md).
const (
	exitOK         = 0
	exitDeployFail = 1
	exitUsage      = 2
	exitLocked     = 3
)

// app holds the global flags and the process's streams; commands get it
// instead of reading globals.
type app struct {
	dir      string
	file     string
	vars     []string
	varFiles []string
	json     bool
	noColor  bool
	verbose  bool

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// exitCode lets a command choose a code for an error it already printed.
	exitCode int
	// ctx is the running command's context (plugins started for it live
	// as long as it).
	ctx     context.Context
	closers []func()
	// stream: the running command's --json output is an event stream
	// (jsonEvents), not one document; events is that stream once begun.
	stream bool
	events *ui.JSON
	// project is where plat.hcl was found (projectDir).
	project *projectPath
	// offline: loads never fetch a shared source (shell completion).
	offline bool
	// files are the last load's sources: shared sources, origins.
	files *environments.Files
	// admin is set when plat runs a pusher's command on an admin node (via.go).
	admin *adminRun
	// loaded is a load whose diagnostics were printed, for the next
	// loadDiags (via.go loads before the command does).
	loaded *loadResult
	// factories are the provider factories of the command, by project
	// directory: made once, so a plugin the load started is the one the
	// engine, validate and the rest use (never started twice).
	factories map[string]map[string]platform.ProviderFactory
}

type loadResult struct {
	p     *platform.Project
	diags hcl.Diagnostics
	err   error
}

// onClose registers cleanup to run when the command ends.
func (a *app) onClose(fn func()) { a.closers = append(a.closers, fn) }

// Main runs plat with args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runApp(ctx, &app{stdin: stdin, stdout: stdout, stderr: stderr}, args)
}

// runApp runs plat with args for a and returns the exit code.
func runApp(ctx context.Context, a *app, args []string) int {
	root := newRootCommand(a)
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	if err == nil {
		return a.exitCode
	}
	return a.report(err)
}

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "plat",
		Short: "Push-to-deploy one app, with one recipe, to every environment",
		Long: `plat builds your app once, records an immutable release, and rolls it out
with the same recipe everywhere: a laptop directory, Docker containers,
Vagrant machines or SSH clusters. plat.hcl describes the app and its
environments.`,
		Example: `  plat init                 # write a starter plat.hcl
  plat push local           # build and deploy to the local environment
  plat status local         # what each host runs`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			a.ctx = cmd.Context()
			a.stream = cmd.Annotations[jsonAnnotation] == jsonEvents || cmd.Annotations[jsonAnnotation] == jsonOutput
			return a.applyEnv(cmd)
		},
		// Flags before the command name are plat's own, so -f before
		// `logs` is the project file and -f after it is --follow.
		TraverseChildren: true,
	}
	f := root.PersistentFlags()
	f.StringVarP(&a.dir, "chdir", "C", ".", "run as if plat started in `DIR` ($PLAT_CHDIR)")
	f.StringVarP(&a.file, "file", "f", "", "project `FILE`, relative to -C ($PLAT_FILE; default: plat.hcl in DIR or a parent)")
	f.StringArrayVar(&a.vars, "var", nil, "set a variable (`NAME=VALUE`, repeatable)")
	f.StringArrayVar(&a.varFiles, "var-file", nil, "read variables from an HCL `FILE` (repeatable)")
	f.BoolVar(&a.json, "json", false, "print only JSON on stdout: events as lines, or one document (docs/json.md; $PLAT_JSON)")
	f.BoolVar(&a.noColor, "no-color", false, "disable colors")
	f.BoolVarP(&a.verbose, "verbose", "v", false, "log debug details to stderr")
	root.AddCommand(
		newInitCommand(a),
		newValidateCommand(a),
		newEnvCommand(a),
		newPushCommand(a),
		newRollbackCommand(a),
		newPromoteCommand(a),
		newReleasesCommand(a),
		newDiffCommand(a),
		newStatusCommand(a),
		newLockCommand(a),
		newUpCommand(a),
		newDownCommand(a),
		newExecCommand(a),
		newConsoleCommand(a),
		newPsCommand(a),
		newStartCommand(a),
		newStopCommand(a),
		newRestartCommand(a),
		newRunCommand(a),
		newLogsCommand(a),
		newSSHConfigCommand(a),
		newImageCommand(a),
		newPluginsCommand(a),
		newVersionCommand(a),
		newViaExecCommand(a),
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	rejectUnknownCommands(root)
	registerCompletions(a, root)
	return root
}

// usageError is a command-line mistake (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// configError means diagnostics were already printed (exit 2).
type configError struct{ n int }

func (c configError) Error() string { return fmt.Sprintf("%d configuration errors", c.n) }

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %s (got %d arguments); see `%s --help`", cmd.CommandPath(), what, len(args), cmd.CommandPath())}
		}
		return nil
	}
}

// report prints err and returns its exit code.
func (a *app) report(err error) int {
	var ce configError
	if errors.As(err, &ce) {
		a.failJSON(ce.Error(), exitUsage)
		return exitUsage
	}
	code := exitDeployFail
	var held *engine.LockHeldError
	var ue usageError
	switch {
	case errors.As(err, &held):
		code = exitLocked
	case errors.As(err, &ue), errors.Is(err, engine.ErrConfig):
		code = exitUsage
	}
	if isUnknownCommand(err) {
		code = exitUsage
	}
	msg := strings.TrimPrefix(err.Error(), engine.ErrConfig.Error()+": ")
	a.failJSON(msg, code)
	fmt.Fprintf(a.stderr, "Error: %s\n", msg)
	if held != nil {
		fmt.Fprintf(a.stderr, "hint: wait with --lock-wait DURATION, or if the holder is gone: plat lock %s break\n", held.EnvName)
	}
	return code
}

// color: colours on a terminal, unless --no-color, $NO_COLOR
// (no-color.org) or TERM=dumb.
func (a *app) color() bool {
	if a.noColor || os.Getenv("NO_COLOR") != "" || dumbTerminal() {
		return false
	}
	f, ok := a.stdout.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// dumbTerminal is TERM=dumb (Emacs shells, some CI runners): no colour and
// no cursor movement.
func dumbTerminal() bool { return os.Getenv("TERM") == "dumb" }

func (a *app) interactive() bool {
	f, ok := a.stdin.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// load reads plat.hcl and prints its diagnostics.
func (a *app) load() (*platform.Project, error) {
	p, _, err := a.loadDiags()
	return p, err
}

// loadDiags is load that also returns the diagnostics it printed.
func (a *app) loadDiags() (*platform.Project, hcl.Diagnostics, error) {
	if r := a.loaded; r != nil {
		a.loaded = nil
		return r.p, r.diags, r.err
	}
	return a.loadWith(func(*environments.Options) {})
}

// loadWith is loadDiags with the load's options adjusted by opt (plat env
// update moves pins).
func (a *app) loadWith(opt func(*environments.Options)) (*platform.Project, hcl.Diagnostics, error) {
	dir, err := a.projectFile()
	if err != nil {
		return nil, nil, err
	}
	vars := map[string]string{}
	for _, kv := range a.vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, usageError{fmt.Errorf("--var %q: want NAME=VALUE", kv)}
		}
		vars[k] = v
	}
	schemas := map[string]platform.Schema{}
	for name, f := range a.providers(dir) {
		if pf, ok := f.(*pluginFactory); ok {
			if _, err := pf.open(); err != nil {
				return nil, nil, usageError{err}
			}
		}
		schemas[name] = f.Schema()
	}
	opts := environments.Options{
		Dir: dir, File: a.file, Vars: vars, VarFiles: a.varFiles, Environ: os.Environ(), Providers: schemas,
		Offline: a.offline,
	}
	opt(&opts)
	p, files, diags := environments.Load(opts)
	a.files = files
	if len(diags) > 0 {
		_ = environments.WriteDiagnostics(a.stderr, files, diags, 100, a.color())
	}
	if diags.HasErrors() {
		return nil, diags, configError{len(diags.Errs())}
	}
	return p, diags, nil
}

// stateDir is the project's .plat directory, created with the .gitignore
// that keeps it out of git before anything is written into it.
func stateDir(projectDir string) (string, error) {
	dir := filepath.Join(projectDir, ".plat")
	if _, err := engine.EnsureStateDir(dir); err != nil {
		return "", fmt.Errorf("state directory %s: %w", dir, err)
	}
	return dir, nil
}

// engine loads the project and wires an engine for it.
func (a *app) engine(ctx context.Context) (*engine.Engine, error) {
	p, err := a.load()
	if err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	state, err := stateDir(p.Dir)
	if err != nil {
		return nil, err
	}
	e := &engine.Engine{
		Project:   p,
		Providers: a.providers(p.Dir),
		Builder:   buildpacks.New(buildpacks.Options{BaseDir: p.Dir}),
		StateDir:  state,
		UI:        a.ui(),
		Log:       slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level})),
	}
	if a.interactive() && !a.json {
		e.Confirm = a.confirm
	}
	if a.admin != nil && a.admin.pusher != "" {
		e.User = a.admin.pusher
	}
	return e, nil
}

func (a *app) ui() platform.UI {
	if a.json {
		return a.jsonEvents()
	}
	if f, ok := a.stdout.(*os.File); ok && isatty.IsTerminal(f.Fd()) && os.Getenv("CI") == "" && !dumbTerminal() {
		return ui.NewLive(a.stdout, a.color())
	}
	return &ui.Lines{W: a.stdout, Color: a.color()}
}

func (a *app) confirm(ctx context.Context, q string) (bool, error) {
	fmt.Fprintf(a.stderr, "%s [y/N] ", q)
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && line == "" {
		return false, err
	}
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes", nil
}
