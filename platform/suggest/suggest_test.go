package suggest

import "testing"

func TestClosest(t *testing.T) {
	envs := []string{"local", "dev", "stage", "prod"}
	for _, tc := range []struct {
		name       string
		candidates []string
		want       string
	}{
		{"prdo", envs, "prod"},     // a transposition is two edits
		{"prod", envs, ""},         // an exact name is not a suggestion
		{"Prod", envs, "prod"},     // case
		{"stag", envs, "stage"},    // a missing letter
		{"locla", envs, "local"},   // transposition at the end
		{"staging", envs, ""},      // three edits from stage
		{"db", []string{"qa"}, ""}, // two-letter names: two edits is everything
		{"web3", []string{"web1", "web2", "web10"}, "web1"},
		{"web", []string{"web1"}, "web1"},
		{"migrat", []string{"tests", "migrate"}, "migrate"},
		{"x", nil, ""},
	} {
		if got := Closest(tc.name, tc.candidates); got != tc.want {
			t.Errorf("Closest(%q, %v) = %q, want %q", tc.name, tc.candidates, got, tc.want)
		}
	}
	if got, want := Hint("prdo", envs), `; did you mean "prod"?`; got != want {
		t.Errorf("Hint = %q, want %q", got, want)
	}
	if got := Hint("zzzz", envs); got != "" {
		t.Errorf("Hint for nothing close = %q", got)
	}
}
