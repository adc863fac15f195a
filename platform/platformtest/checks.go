package platformtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// Check is one named conformance check. Suites are lists of checks so the
// same suite runs under `go test` (RunTests) and from a command such as
// `plat plugins test` (RunChecks), where there is no *testing.T.
type Check struct {
	Name string
	// Run returns nil when the check passes, an error wrapping ErrSkip
	// when it does not apply, else what went wrong.
	Run func(ctx context.Context) error
}

// ErrSkip marks a check that does not apply (an optional ability the
// implementation lacks, or a prerequisite check that failed).
var ErrSkip = errors.New("skipped")

// Skipf returns an error wrapping ErrSkip.
func Skipf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSkip, fmt.Sprintf(format, args...))
}

// RunChecks runs checks in order, writes one line per check to w (and the
// error, indented, for a failure) and a final tally, and returns how many
// failed. Skipped checks do not count as failed.
func RunChecks(ctx context.Context, w io.Writer, checks []Check) (failed int) {
	var passed, skipped int
	for _, c := range checks {
		if ctx.Err() != nil {
			fmt.Fprintf(w, "--- FAIL: %s: %v\n", c.Name, ctx.Err())
			failed++
			continue
		}
		start := time.Now()
		err := c.Run(ctx)
		d := time.Since(start).Seconds()
		switch {
		case err == nil:
			passed++
			fmt.Fprintf(w, "--- PASS: %s (%.2fs)\n", c.Name, d)
		case errors.Is(err, ErrSkip):
			skipped++
			fmt.Fprintf(w, "--- SKIP: %s (%.2fs)\n    %s\n", c.Name, d, indent(err.Error()))
		default:
			failed++
			fmt.Fprintf(w, "--- FAIL: %s (%.2fs)\n    %s\n", c.Name, d, indent(err.Error()))
		}
	}
	fmt.Fprintf(w, "conformance: %d of %d checks passed (%d failed, %d skipped)\n", passed, len(checks), failed, skipped)
	return failed
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// RunTests runs checks as subtests of t, in order.
func RunTests(t *testing.T, checks []Check) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.Name, func(t *testing.T) {
			err := c.Run(t.Context())
			if errors.Is(err, ErrSkip) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
