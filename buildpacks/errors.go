package buildpacks

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNothingDetected matches a *DetectError with errors.Is.
var ErrNothingDetected = errors.New("no buildpack applies")

// DetectAttempt is one buildpack detection tried and what it looks for.
type DetectAttempt struct {
	Name     string
	LooksFor string
}

// DetectError says that no built-in buildpack applies to Dir.
type DetectError struct {
	Dir   string
	Tried []DetectAttempt
}

func (e *DetectError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "detect buildpack for %s: %v; tried:", e.Dir, ErrNothingDetected)
	for _, t := range e.Tried {
		fmt.Fprintf(&b, "\n  %-9s %s", t.Name, t.LooksFor)
	}
	b.WriteString("\nhint: add one of these files, or name a buildpack (a built-in, a path or a git URL) in the app's buildpack attribute")
	return b.String()
}

// Is makes errors.Is(err, ErrNothingDetected) true.
func (e *DetectError) Is(target error) bool { return target == ErrNothingDetected }

// CompileError is a buildpack that failed. Tail holds the last lines of
// its output (the whole output went to BuildRequest.Output).
type CompileError struct {
	Buildpack string
	Err       error
	Tail      string
}

func (e *CompileError) Error() string {
	msg := fmt.Sprintf("build with buildpack %s: %v", e.Buildpack, e.Err)
	if e.Tail != "" {
		msg += "\nlast lines of its output:\n" + indent(e.Tail, "  ")
	}
	return msg
}

func (e *CompileError) Unwrap() error { return e.Err }

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
