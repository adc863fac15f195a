package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/plat-sh/plat/platform"
)

// stateGitignore is written into the state directory so that `git add -A`
// in the app's repository never stages plat's state: the release store
// holds private settings, the build checkout is a repository of its own.
// Only the plugin lock file, which pins checksums and is meant to be
// committed, is let through.
const stateGitignore = `# plat's state: the release store (private settings included), build
# checkouts, caches and local hosts. It must never be committed; plat
# writes this file again whenever it is missing or changed.
*
!/plugins.lock.hcl
`

// EnsureStateDir creates the state directory and its .gitignore (written
// again when missing or changed). It reports whether it wrote the file.
func EnsureStateDir(dir string) (wrote bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	gi := filepath.Join(dir, ".gitignore")
	if b, err := os.ReadFile(gi); err == nil && bytes.Equal(b, []byte(stateGitignore)) {
		return false, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	tmp := gi + ".tmp"
	if err := os.WriteFile(tmp, []byte(stateGitignore), 0o644); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, gi)
}

// prepareState makes the state directory safe before a push writes into
// it, and says when the project's repository already tracks some of it
// (committed before this safeguard existed).
func (e *Engine) prepareState(ctx context.Context) error {
	wrote, err := EnsureStateDir(e.StateDir)
	if err != nil {
		return fmt.Errorf("state directory %s: %w", e.StateDir, err)
	}
	rel := filepath.Base(e.StateDir)
	if wrote {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("wrote %s/.gitignore: plat's state (private settings included) stays out of git", rel)})
	}
	out, err := git(ctx, filepath.Dir(e.StateDir), "ls-files", "-z", "--", rel)
	if err != nil {
		return nil // not a repository, or no git: nothing can be tracked
	}
	n := 0
	for _, f := range strings.Split(out, "\x00") {
		if f != "" && f != rel+"/plugins.lock.hcl" && f != rel+"/.gitignore" {
			n++
		}
	}
	if n > 0 {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("warning: git tracks %d files under %s/, plat's state, which holds private settings: remove them from the repository with `git rm -r --cached %s` and commit (they are never part of a release)", n, rel, rel)})
	}
	return nil
}

// pushState is a push's state in the local journal
// (.plat/journal/<env>.jsonl): started, then resumed any number of times,
// then one of the ends. The strings are the journal's format.
type pushState string

// Push states.
const (
	pushStarted    pushState = "started"
	pushResumed    pushState = "resumed"
	pushFailed     pushState = "failed"
	pushHalted     pushState = "halted"
	pushRolledBack pushState = "rolled_back"
	pushFinished   pushState = "finished"
)

// endState is the journal's last word on a push whose hosts came to
// outcome.
func endState(o platform.Outcome) pushState {
	switch o {
	case platform.OutcomeOK:
		return pushFinished
	case platform.OutcomeHalted:
		return pushHalted
	case platform.OutcomeRolledBack:
		return pushRolledBack
	}
	return pushFailed
}

// What a host's own journal (.plat/journal on the host) records of a push:
// a step that is done there, so that --resume skips it.
const (
	recordUploaded   = "uploaded"
	recordSwitched   = "switched"
	recordRolledBack = "rolled_back"
	recordTaskPrefix = "task:"
)
