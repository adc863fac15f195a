package engine

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/plat-sh/plat/platform"
)

// Step is one unit of a host's recipe: what runs there, what undoes it,
// and what the host's journal records once it is done. A push, a rollback
// and a resumed push compile, per host, into a list of steps (recipe.go:
// functions of the resolved model and the host's state); the executor
// (executor.go) runs the lists, and --plan prints them.
type Step struct {
	// Name is the step's event name ("upload r3", "switch r3", "health").
	Name string
	// Quiet steps emit no events (the history record, the prune, a check
	// between steps).
	Quiet bool
	// Message is the step_start event's message.
	Message string
	// Does says in words what runs on the host, for --plan.
	Does string
	// Journal is what the host's journal records once the step is done
	// ("" records nothing).
	Journal string
	// Skip is a host journal record that says an earlier run of the same
	// push did this step: a resumed push skips it.
	Skip string
	// Always runs the step even after an earlier step of its list failed
	// (what records the outcome).
	Always bool
	// Run does the step.
	Run func(ctx context.Context) error
	// Retry, asked after Run failed with err, may make the host usable
	// again (a new connection): nil runs the step once more, an error is
	// the step's.
	Retry func(ctx context.Context, err error) error
	// OnDone and OnFail tell the caller how the step ended (the summary
	// rows); either may be nil.
	OnDone func()
	OnFail func(err error)
	// Undo reverts the step when it, or a later step of its list, fails.
	Undo *Undo
}

// Undo reverts a step of a host whose list failed. Undos run in reverse
// order of their steps and are not interrupted by a cancelled push.
type Undo struct {
	Name, Message, Does string
	// Before runs first, without events (a new connection to a host whose
	// connection was lost); its error ends the undo.
	Before func(ctx context.Context, cause error) error
	Run    func(ctx context.Context) error
	// Failed says what could not be done when Run fails ("switching back
	// to r1 also failed"): the host's error is the cause, then that.
	Failed string
	OnDone func()
}

// hostSteps is one host's list.
type hostSteps struct {
	t     *platform.Target
	steps []Step
}

// writeSteps prints a list as --plan shows it: one line per step, its
// journal record and its undo.
func writeSteps(w io.Writer, steps []Step) {
	width := 0
	for _, s := range steps {
		width = max(width, len(s.Name))
	}
	for _, s := range steps {
		line := fmt.Sprintf("  %-*s  %s", width, s.Name, s.Does)
		var notes []string
		switch {
		case s.Journal != "" && s.Skip == s.Journal:
			notes = append(notes, "journal "+s.Journal+", which --resume skips")
		case s.Journal != "":
			notes = append(notes, "journal "+s.Journal)
		}
		if s.Skip != "" && s.Skip != s.Journal {
			notes = append(notes, "--resume skips it after "+s.Skip)
		}
		if s.Undo != nil {
			notes = append(notes, "undo: "+s.Undo.Name+" ("+s.Undo.Does+")")
		}
		if len(notes) > 0 {
			line += " [" + strings.Join(notes, "; ") + "]"
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}
