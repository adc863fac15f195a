package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/environments"
	"github.com/plat-sh/plat/platform/engine"
	"github.com/plat-sh/plat/platform/ui"
)

// The environment variables that stand in for global flags; a flag given
// on the command line wins.
const (
	envChdir = "PLAT_CHDIR"
	envFile  = "PLAT_FILE"
	envJSON  = "PLAT_JSON"
)

// applyEnv fills the global flags the command line left unset from
// PLAT_CHDIR, PLAT_FILE and PLAT_JSON.
func (a *app) applyEnv(cmd *cobra.Command) error {
	changed := func(name string) bool {
		f := cmd.Flags().Lookup(name)
		return f != nil && f.Changed
	}
	if v := os.Getenv(envChdir); v != "" && !changed("chdir") {
		a.dir = v
	}
	if v := os.Getenv(envFile); v != "" && a.file == "" {
		a.file = v
	}
	if cmd.Annotations[jsonAnnotation] == jsonPassthrough {
		if changed("json") && a.json {
			return usageError{fmt.Errorf("%s passes the remote command's own output through: --json does not apply to it (its exit code is the command's)", cmd.CommandPath())}
		}
		return nil
	}
	if cmd.Annotations[jsonAnnotation] == jsonOutput {
		return nil
	}
	if v := os.Getenv(envJSON); v != "" && !changed("json") {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return usageError{fmt.Errorf("%s=%q: want true or false (1 or 0)", envJSON, v)}
		}
		a.json = b
	}
	return nil
}

// projectPath is the project plat works on: the directory that holds
// its file, and the file's name relative to it.
type projectPath struct {
	dir, file string
	// err says why no project file was found (searched from dir).
	err error
}

// findProject resolves -C and -f. With -f (or PLAT_FILE), the file is
// exactly that, relative to -C. Without, plat looks for plat.hcl in -C,
// then in each parent directory, as git looks for .git: it stops at the
// top of the git repository that holds -C (the directory with .git), or at
// the filesystem root outside a repository, so a plat.hcl above the
// repository is never picked up.
func findProject(dir, file string) projectPath {
	if file != "" {
		return projectPath{dir: dir, file: file}
	}
	var searched []string
	for d := dir; ; {
		searched = append(searched, d)
		if _, err := os.Stat(filepath.Join(d, environments.DefaultFile)); err == nil {
			return projectPath{dir: d, file: environments.DefaultFile}
		}
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	top := searched[len(searched)-1]
	where := fmt.Sprintf("%s or its parents up to %s", dir, top)
	if len(searched) == 1 {
		where = dir
	}
	if _, err := os.Lstat(filepath.Join(top, ".git")); err == nil && len(searched) > 1 {
		where += " (the top of its git repository)"
	}
	return projectPath{dir: dir, file: environments.DefaultFile, err: usageError{fmt.Errorf(
		"no %s in %s\nhint: plat init writes one; -C DIR or -f FILE (or $%s, $%s) point plat at another",
		environments.DefaultFile, where, envChdir, envFile)}}
}

func (a *app) resolveProject() (*projectPath, error) {
	if a.project == nil {
		dir, err := filepath.Abs(a.dir)
		if err != nil {
			return nil, err
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			switch {
			case err == nil:
				err = errors.New("not a directory")
			case errors.Is(err, fs.ErrNotExist):
				err = errors.New("no such directory")
			}
			return nil, usageError{fmt.Errorf("-C %s: %w", a.dir, err)}
		}
		p := findProject(dir, a.file)
		a.project = &p
		a.file = p.file
	}
	return a.project, nil
}

// projectDir is the directory of the project file, or -C when there is
// none (plugins work without a project).
func (a *app) projectDir() (string, error) {
	p, err := a.resolveProject()
	if err != nil {
		return "", err
	}
	return p.dir, nil
}

// projectFile is projectDir, and an error that says where plat looked
// when no project file was found.
func (a *app) projectFile() (string, error) {
	p, err := a.resolveProject()
	if err != nil {
		return "", err
	}
	return p.dir, p.err
}

// startDir is -C made absolute (where plat init writes).
func (a *app) startDir() (string, error) { return filepath.Abs(a.dir) }

// shownFile is the project file as the user would name it, relative to
// -C (../plat.hcl when found in a parent).
func (a *app) shownFile() string {
	start, err := a.startDir()
	if a.project == nil || err != nil {
		return a.fileName()
	}
	path := a.project.file
	if filepath.IsAbs(path) {
		return path
	}
	path = filepath.Join(a.project.dir, path)
	if rel, err := filepath.Rel(start, path); err == nil {
		return rel
	}
	return path
}

// fileName is the project file's name: -f, or plat.hcl.
func (a *app) fileName() string {
	if a.file == "" {
		return environments.DefaultFile
	}
	return a.file
}

// How a command's --json output is shaped (docs/json.md): an annotation on
// every command that runs something.
const (
	jsonAnnotation = "plat/json"
	// jsonEvents: one event per line, the last a result or an error.
	jsonEvents = "events"
	// jsonDocument: one document.
	jsonDocument = "document"
	// jsonOutput: the output is a remote program's (exec, run, logs);
	// with --json, it comes as output events in an event stream. $PLAT_JSON
	// does not apply, so a script's `plat exec … > file` stays the
	// program's own output.
	jsonOutput = "output"
	// jsonPassthrough: the output is an interactive program's (console):
	// --json is refused, and $PLAT_JSON ignored.
	jsonPassthrough = "passthrough"
)

var (
	eventsOutput      = map[string]string{jsonAnnotation: jsonEvents}
	documentOutput    = map[string]string{jsonAnnotation: jsonDocument}
	programOutput     = map[string]string{jsonAnnotation: jsonOutput}
	passthroughOutput = map[string]string{jsonAnnotation: jsonPassthrough}
)

// jsonEvents is the --json event stream on stdout.
func (a *app) jsonEvents() *ui.JSON {
	if a.events == nil {
		a.events = ui.NewJSON(a.stdout)
	}
	return a.events
}

// failJSON ends a command's event stream with its error. A command that
// prints one document prints none when it fails: the error is on stderr.
func (a *app) failJSON(msg string, code int) {
	if a.json && a.stream {
		a.jsonEvents().Fail(msg, code)
	}
}

// outputEngine is engine for exec, run and logs: with --json, what the
// hosts print comes as output events on the JSON stream.
func (a *app) outputEngine(ctx context.Context) (*engine.Engine, error) {
	e, err := a.engine(ctx)
	if err != nil {
		return nil, err
	}
	if a.json {
		e.UI, e.OutputEvents = a.jsonEvents(), true
	}
	return e, nil
}

// result ends a command's event stream with its outcome.
func (a *app) result(v any) {
	if a.json {
		a.jsonEvents().Result(v)
	}
}

// readEngine is engine for commands that print one report: the engine's
// events (connecting, warnings) go to stderr, so stdout holds the report
// alone.
func (a *app) readEngine(ctx context.Context) (*engine.Engine, error) {
	e, err := a.engine(ctx)
	if err != nil {
		return nil, err
	}
	e.UI = a.stderrUI()
	return e, nil
}

func (a *app) stderrUI() *ui.Lines { return &ui.Lines{W: a.stderr, Color: a.color()} }

// rejectUnknownCommands makes a command name that does not exist a usage
// error (exit 2) under the root and every command group (plat env bogus),
// where cobra would print the group's help and exit 0; a group given no
// command still prints its help.
func rejectUnknownCommands(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return cmd.Help()
				}
				return unknownCommand(cmd, args[0])
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return usageError{fmt.Errorf("%s\nsee `%s --help`", msg, cmd.CommandPath())}
}

// isUnknownCommand is cobra's own unknown-command error (its text is all
// cobra gives to tell it).
func isUnknownCommand(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command ")
}
