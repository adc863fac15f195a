package engine

import (
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
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

// A release name that is a symbolic link, or a current that names a
// release that is gone, is never a base, a switch target or a previous
// release; each is reported with the file it concerns.
func TestHostStateIgnoresLinkedAndMissingReleases(t *testing.T) {
	for _, tc := range []struct {
		name, out, want string
	}{
		{"current is a link", "current r3\nreleases r1 r2\nlink r3 /tmp/elsewhere\n--- manifest\nf 0644 1 ab x\n",
			`current points to releases/r3, a symbolic link`},
		{"current is missing", "current r9\nreleases r1 r2\n--- manifest\n", "current points to releases/r9, which does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newHostState(hostcmd.ParseState(tc.out))
			if st.Current != "" || st.Manifest != "" {
				t.Errorf("current = %q (manifest %q), want none", st.Current, st.Manifest)
			}
			if strings.Join(st.Releases, " ") != "r1 r2" {
				t.Errorf("releases = %v", st.Releases)
			}
			if found := strings.Join(st.found, "\n"); !strings.Contains(found, tc.want) {
				t.Errorf("found lacks %q:\n%s", tc.want, found)
			}
		})
	}
	st := newHostState(hostcmd.ParseState("current r1\nreleases r1\nlink r7 /tmp/elsewhere\n"))
	if found := strings.Join(st.found, "\n"); !strings.Contains(found, `releases/r7 is a symbolic link to "/tmp/elsewhere"`) {
		t.Errorf("found = %s", found)
	}
	// A new release never takes the name of a link.
	p := &push{e: &Engine{StateDir: t.TempDir()}, env: &platform.Environment{Name: "prod"}, states: map[string]*hostState{"web1": st}}
	if n := p.nextNumber(); n != 8 {
		t.Errorf("next release number = %d, want 8 (past the link r7)", n)
	}
}
