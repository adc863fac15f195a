package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/platform/release"
)

// FuzzHostState feeds arbitrary host output (the state script's, history
// lines included) to the parsers: they never panic, and nothing they
// return names a release that could leave deploy_to.
func FuzzHostState(f *testing.F) {
	f.Add("current r2\nreleases r1 r2\n--- history\n" +
		`{"event":"deploy","release":"r2","previous":"r1","time":"2026-01-02T03:04:05Z","pusher":"ada@laptop","outcome":"ok"}` +
		"\n--- manifest\nf 0644 3 abc a.txt\n")
	f.Add("current ../../etc\nreleases r1 ../x\n--- history\n{\"event\":\"deploy\",\"release\":\"../../x\",\"previous\":\"/etc\"}\n{garbage\n{\"event\":\"deploy\",\"rel")
	f.Add("current -\nreleases\n--- history\n--- manifest-sha256\nzz\n")
	f.Fuzz(func(t *testing.T, out string) {
		st := hostcmd.ParseState(out)
		hs := newHostState(st)
		for _, id := range append([]string{hs.Current}, hs.Releases...) {
			if id != "" && !release.ValidID(id) {
				t.Fatalf("host state names release %q", id)
			}
		}
		for _, h := range hs.history {
			for _, id := range []string{h.Release, h.Previous} {
				if id != "" && !release.ValidID(id) {
					t.Fatalf("history names release %q", id)
				}
			}
		}
		if p := hs.previousOf(hs.Current); p != "" && !release.ValidID(p) {
			t.Fatalf("previous release %q", p)
		}
	})
}

// FuzzLockInfo: any lock file's content decodes, and what plat writes
// decodes back to what it wrote.
func FuzzLockInfo(f *testing.F) {
	f.Add("owner=ada@laptop\nsince=1700000000\ncommand=push\nmessage=fix\npid=42\nexpires=1700000030\ntoken=abc\n", "ada@laptop", "hot\nfix")
	f.Add("\x00\xff=garbage\nexpires=-9999999999999999999\n", "", "")
	f.Add("since=99999999999999999\npid=-1", "o=w\nner", "=")
	f.Fuzz(func(t *testing.T, held, owner, message string) {
		_ = decodeLock(hostcmd.ParseKV(held)).messageSuffix()
		in := LockInfo{Owner: owner, Since: time.Unix(1700000000, 0), Command: "push", Message: message, PID: 7}
		got := decodeLock(hostcmd.ParseKV(in.encode()))
		if got.Owner != oneLine(owner) && !strings.Contains(owner, "=") {
			t.Fatalf("owner %q decoded as %q", owner, got.Owner)
		}
		if got.PID != 7 || !got.Since.Equal(in.Since) {
			t.Fatalf("lock %q decoded as %+v", in.encode(), got)
		}
	})
}
