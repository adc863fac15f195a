package hostcmd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
)

// The host scripts run here with the real sh against a deploy_to that a
// hostile or broken host could have: they never write, link or delete
// through a symbolic link plat did not make, and they say which file.

// runScript runs cmd with sh on this machine.
func runScript(t *testing.T, cmd *platform.Command, stdin string) (stdout, stderr string, code int) {
	t.Helper()
	c := exec.Command(cmd.Args[0], cmd.Args[1:]...)
	c.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

// hostileDeploy makes deploy_to with a real release r1, releases/r2 a
// symbolic link to elsewhere (which holds a sentinel and a manifest), and
// current pointing at r2.
func hostileDeploy(t *testing.T) (deployTo, elsewhere string) {
	t.Helper()
	root := t.TempDir()
	deployTo, elsewhere = filepath.Join(root, "app"), filepath.Join(root, "elsewhere")
	for _, d := range []string{"app/releases/r1/.plat", "elsewhere/.plat"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(elsewhere, "sentinel"), "outside")
	write(t, filepath.Join(elsewhere, ".plat", "manifest"), "f 0644 7 "+strings.Repeat("ab", 32)+" sentinel\n")
	write(t, filepath.Join(deployTo, "releases", "r1", "index.html"), "r1")
	if err := os.Symlink(elsewhere, filepath.Join(deployTo, "releases", "r2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("releases/r2", filepath.Join(deployTo, "current")); err != nil {
		t.Fatal(err)
	}
	return deployTo, elsewhere
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// untouched asserts elsewhere still holds exactly its sentinel and manifest.
func untouched(t *testing.T, elsewhere string) {
	t.Helper()
	var got []string
	filepath.WalkDir(elsewhere, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(elsewhere, p)
			got = append(got, rel)
		}
		return nil
	})
	if strings.Join(got, " ") != ".plat/manifest sentinel" {
		t.Errorf("outside deploy_to now holds %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(elsewhere, "sentinel")); err != nil || string(b) != "outside" {
		t.Errorf("sentinel outside deploy_to: %q, %v", b, err)
	}
}

func TestStateReadsNothingThroughALinkedRelease(t *testing.T) {
	d, elsewhere := hostileDeploy(t)
	for _, cmd := range []*platform.Command{State(d), StateSummary(d)} {
		out, _, code := runScript(t, cmd, "")
		st := ParseState(out)
		if code != 0 || st.Current != "r2" || strings.Join(st.Releases, " ") != "r1" || st.Links["r2"] != elsewhere {
			t.Errorf("state = %+v (exit %d)\n%s", st, code, out)
		}
		if st.Manifest != "" || st.ManifestSHA256 != "" {
			t.Errorf("state read the manifest through the link: %q %q", st.Manifest, st.ManifestSHA256)
		}
	}
	untouched(t, elsewhere)
}

func TestScriptsRefuseALinkedRelease(t *testing.T) {
	d, elsewhere := hostileDeploy(t)

	// Prepare with the link as base starts from an empty dir: nothing is
	// removed from (or hard-linked out of) elsewhere.
	if _, stderr, code := runScript(t, Prepare(d, "r3", "r2"), RemoveList([]string{"sentinel", ".plat"})); code != 0 {
		t.Fatalf("prepare: exit %d: %s", code, stderr)
	}
	if ents, _ := os.ReadDir(filepath.Join(d, "releases", ".r3.tmp")); len(ents) != 0 {
		t.Errorf("prepare copied %d entries from the linked base", len(ents))
	}
	untouched(t, elsewhere)

	// Finish into the link's name, or from it as base, is refused.
	for _, tc := range []struct{ id, base string }{{"r2", ""}, {"r3", "r2"}} {
		if _, stderr, code := runScript(t, Prepare(d, tc.id, ""), ""); code != 0 {
			t.Fatalf("prepare %s: %s", tc.id, stderr)
		}
		_, stderr, code := runScript(t, Finish(d, tc.id, tc.base, "x", nil), emptyTarGz(t))
		if code == 0 || !strings.Contains(stderr, d+"/releases/r2 is a symbolic link") {
			t.Errorf("finish %s from %q: exit %d: %s", tc.id, tc.base, code, stderr)
		}
		if _, err := os.Lstat(filepath.Join(d, "releases", "."+tc.id+".tmp")); err == nil {
			t.Errorf("finish %s left its temp dir", tc.id)
		}
	}

	// Switch refuses it and leaves current alone.
	if err := os.Remove(filepath.Join(d, "current")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("releases/r1", filepath.Join(d, "current")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runScript(t, Switch(d, "r2"), "")
	if code == 0 || !strings.Contains(stderr, d+"/releases/r2 is a symbolic link (to "+elsewhere+")") {
		t.Errorf("switch to a link: exit %d: %s", code, stderr)
	}
	if cur, _ := os.Readlink(filepath.Join(d, "current")); cur != "releases/r1" {
		t.Errorf("current -> %s after a refused switch", cur)
	}

	// Prune skips it (and does not count it among the kept).
	for _, r := range []string{"r3", "r4"} {
		if err := os.MkdirAll(filepath.Join(d, "releases", r), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, _, _ := runScript(t, Prune(d, 1, "r4", "r3"), "")
	if strings.TrimSpace(out) != "r1" {
		t.Errorf("prune removed %q, want r1", out)
	}
	if _, err := os.Lstat(filepath.Join(d, "releases", "r2")); err != nil {
		t.Errorf("prune removed the link: %v", err)
	}
	untouched(t, elsewhere)
}

func TestVerifyRefusesCurrentOutsideReleases(t *testing.T) {
	d, elsewhere := hostileDeploy(t)
	_, stderr, code := runScript(t, Verify(d), "")
	if code == 0 || !strings.Contains(stderr, d+"/releases/r2 is a symbolic link") {
		t.Errorf("verify through a linked current: exit %d: %s", code, stderr)
	}
	for _, target := range []string{elsewhere, "releases/../../elsewhere", "releases/.r5.tmp"} {
		os.Remove(filepath.Join(d, "current"))
		if err := os.Symlink(target, filepath.Join(d, "current")); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := runScript(t, Verify(d), "")
		if code == 0 || !strings.Contains(stderr, d+"/current points to "+target) || strings.Contains(out, "sentinel") {
			t.Errorf("verify with current -> %s: exit %d: %s\n%s", target, code, stderr, out)
		}
	}
}

func TestRecordAndLockRefuseToWriteThroughLinks(t *testing.T) {
	d, elsewhere := hostileDeploy(t)
	if err := os.MkdirAll(filepath.Join(d, ".plat"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "sentinel"), filepath.Join(d, ".plat", "history")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runScript(t, Record(d, "line", `{"event":"deploy"}`), "")
	if code == 0 || !strings.Contains(stderr, d+"/.plat/history is a symbolic link") {
		t.Errorf("record through a linked history: exit %d: %s", code, stderr)
	}
	if out, _, _ := runScript(t, State(d), ""); len(ParseState(out).History) != 0 {
		t.Errorf("state read history through a link: %q", out)
	}
	untouched(t, elsewhere)

	os.RemoveAll(filepath.Join(d, ".plat"))
	if err := os.Symlink(elsewhere, filepath.Join(d, ".plat")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runScript(t, Lock(d, "notes", "tok", 30*time.Second, "owner=ada"), "")
	if code == 0 || !strings.Contains(stderr, d+"/.plat is a symbolic link") {
		t.Errorf("lock through a linked .plat: exit %d: %s", code, stderr)
	}
	untouched(t, elsewhere)
}

// A lock file plat did not write (garbage, or a dir whose info never
// came) is held while it is fresh and taken over a lease after it last
// changed; a lock that is a plain file is treated alike.
func TestLockWithUnreadableInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, lock string)
	}{
		{"garbage info", func(t *testing.T, lock string) {
			os.MkdirAll(lock, 0o755)
			write(t, filepath.Join(lock, "info"), "\x00\xffgarbage\nexpires=soon\n")
		}},
		{"no info", func(t *testing.T, lock string) { os.MkdirAll(lock, 0o755) }},
		{"a file", func(t *testing.T, lock string) { write(t, lock, "garbage") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			lock := filepath.Join(d, ".plat", "lock")
			os.MkdirAll(filepath.Join(d, ".plat"), 0o755)
			tc.make(t, lock)
			out, _, code := runScript(t, Lock(d, "notes", "tok", 30*time.Second, "owner=ada"), "")
			if code != 3 || !strings.HasPrefix(out, "held\n") {
				t.Fatalf("fresh unreadable lock: exit %d: %s", code, out)
			}
			old := time.Now().Add(-time.Minute)
			for _, p := range []string{lock, filepath.Join(lock, "info")} {
				os.Chtimes(p, old, old)
			}
			out, stderr, code := runScript(t, Lock(d, "notes", "tok", 30*time.Second, "owner=ada"), "")
			if code != 0 || out != "acquired unreadable\n" {
				t.Fatalf("old unreadable lock: exit %d: %q %s", code, out, stderr)
			}
			if b, _ := os.ReadFile(filepath.Join(lock, "info")); !strings.Contains(string(b), "owner=ada") || !strings.Contains(string(b), "token=tok") {
				t.Errorf("lock info after the take-over: %q", b)
			}
		})
	}
}

// emptyTarGz is a gzip tar with no entries.
func emptyTarGz(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", "tar -czf - -T /dev/null").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// A history whose last line was cut short gets the next record on a line
// of its own.
func TestRecordAfterATruncatedLine(t *testing.T) {
	d := t.TempDir()
	os.MkdirAll(filepath.Join(d, ".plat"), 0o755)
	write(t, filepath.Join(d, ".plat", "history"), `{"event":"deploy","release":"r1"}`+"\n"+`{"event":"depl`)
	write(t, filepath.Join(d, "revisions.log"), "Branch main deployed as rel")
	// State read before the record sees the section after the cut line.
	write(t, filepath.Join(d, ".plat", "history"), `{"event":"deploy","release":"r1"}`+"\n"+`{"event":"depl`)
	os.MkdirAll(filepath.Join(d, "releases", "r1", ".plat"), 0o755)
	write(t, filepath.Join(d, "releases", "r1", ".plat", "manifest"), "m\n")
	os.Symlink("releases/r1", filepath.Join(d, "current"))
	out, _, _ := runScript(t, StateSummary(d), "")
	if st := ParseState(out); len(st.History) != 2 || st.ManifestSHA256 == "" {
		t.Errorf("state after a cut history line = %+v", st)
	}
	if _, stderr, code := runScript(t, Record(d, "line 2", `{"event":"deploy","release":"r2"}`), ""); code != 0 {
		t.Fatalf("record: exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(filepath.Join(d, ".plat", "history"))
	if lines := strings.Split(string(b), "\n"); len(lines) != 4 || lines[2] != `{"event":"deploy","release":"r2"}` {
		t.Errorf("history = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(d, "revisions.log")); string(b) != "Branch main deployed as rel\nline 2\n" {
		t.Errorf("revisions.log = %q", b)
	}
}
