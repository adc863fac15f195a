// Package suggest finds the name a user probably meant ("did you mean").
package suggest

import (
	"fmt"
	"strings"

	"github.com/agext/levenshtein"
)

// Closest returns the candidate nearest to name by edit distance
// (case-insensitive), or "" when none is close: at most two edits, and
// those edits no more than half of the longer name (two-letter names are
// all two edits apart, which says nothing). Ties go to the earlier
// candidate. name itself is never suggested.
func Closest(name string, candidates []string) string {
	best, bestDist := "", 0
	given := strings.ToLower(name)
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := levenshtein.Distance(given, strings.ToLower(c), nil)
		longer := max(len(given), len(c))
		if d > 2 || 2*d > longer {
			continue
		}
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// Hint is `; did you mean "X"?` for the closest candidate, or "".
func Hint(name string, candidates []string) string {
	if c := Closest(name, candidates); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}
