package engine

import (
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform/hostcmd"
)

// What a host reports is used in paths of later host commands only when
// it names a release plat could have made; the rest is reported.
func TestHostStateIgnoresWhatPlatDidNotWrite(t *testing.T) {
	out := "current ../../outside\nreleases r1 r2 r..\n--- history\n" +
		`{"event":"deploy","release":"r1","time":"2026-01-02T03:04:05Z","pusher":"ada","outcome":"ok"}` + "\n" +
		`{"event":"deploy","release":"r2","previous":"../../outside","outcome":"ok"}` + "\n" +
		"garbage line\n" +
		`{"event":"deploy","rele` + "\n" +
		"--- manifest\nf 0644 1 ab ../../etc/passwd\n"
	st := newHostState(hostcmd.ParseState(out))
	if st.Current != "" || st.Manifest != "" {
		t.Errorf("current = %q (manifest %q), want none", st.Current, st.Manifest)
	}
	if strings.Join(st.Releases, " ") != "r1 r2" {
		t.Errorf("releases = %v", st.Releases)
	}
	if len(st.history) != 1 || st.history[0].Release != "r1" {
		t.Errorf("history = %+v", st.history)
	}
	found := strings.Join(st.found, "\n")
	for _, want := range []string{`current points to "../../outside"`, "releases/r.. is not a release", "3 unreadable line(s)"} {
		if !strings.Contains(found, want) {
			t.Errorf("found lacks %q:\n%s", want, found)
		}
	}
}
