package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// The hostile-host tests prepare, on a real sshd host, state that plat
// did not write (or wrote and then lost to a full disk or a careless
// admin) and run push, rollback, status --verify and prune over it. plat
// never writes, links or deletes outside deploy_to, never panics, and
// says what it found, naming the host and the file.

// outsideSnapshot lists every file under dirs (skipping skip) with a hash
// of its content, to tell that nothing outside deploy_to changed.
func outsideSnapshot(t *testing.T, dirs []string, skip map[string]bool) string {
	t.Helper()
	var lines []string
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if skip[p] {
				return filepath.SkipDir
			}
			info, err := os.Lstat(p)
			if err != nil {
				return nil
			}
			sum := ""
			if info.Mode().IsRegular() {
				b, _ := os.ReadFile(p)
				h := sha256.Sum256(b)
				sum = hex.EncodeToString(h[:8])
			}
			lines = append(lines, fmt.Sprintf("%s %v %s", p, info.Mode().Type(), sum))
			return nil
		})
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// hostile is a fleet whose first host gets the hostile state.
type hostile struct {
	t         *testing.T
	fleet     *sshtest.Fleet
	p         *project
	ports     []int
	root      string // host1's deploy_to
	elsewhere string // outside every deploy_to, with a sentinel
	before    string
	dirs      []string
	skip      map[string]bool
}

func newHostile(t *testing.T) *hostile {
	t.Helper()
	fleet := sshtest.New(t, 2)
	p := newProject(t)
	ports := p.sshEnv(fleet, "  keep_releases = 2\n")
	t.Cleanup(func() { p.plat("down", "fleet") })
	h := &hostile{t: t, fleet: fleet, p: p, ports: ports, root: fleet.Hosts[0].Root, elsewhere: filepath.Join(t.TempDir(), "elsewhere")}
	for _, d := range []string{h.elsewhere, filepath.Join(h.elsewhere, ".plat")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{"sentinel": "outside deploy_to\n", ".plat/manifest": "f 0644 18 " + strings.Repeat("ab", 32) + " sentinel\n",
		".plat/history": `{"event":"deploy","release":"r1","outcome":"ok"}` + "\n"} {
		if err := os.WriteFile(filepath.Join(h.elsewhere, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.mustPlat("push", "fleet")
	serves(t, ports, "release r1")
	// Outside deploy_to: elsewhere and the fleet's own directory, less
	// each host's deploy_to, sshd files and HOME.
	h.dirs = []string{filepath.Dir(h.elsewhere), fleet.Dir}
	h.skip = map[string]bool{}
	for _, x := range fleet.Hosts {
		h.skip[x.Root], h.skip[x.Dir], h.skip[x.Home] = true, true, true
	}
	h.before = outsideSnapshot(t, h.dirs, h.skip)
	if !strings.Contains(h.before, "sentinel") {
		t.Fatalf("the snapshot misses the sentinel:\n%s", h.before)
	}
	return h
}

// plat runs plat and checks it did not panic and left everything
// outside deploy_to as it was.
func (h *hostile) plat(args ...string) result {
	h.t.Helper()
	r := h.p.plat(args...)
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		h.t.Fatalf("plat %v panicked:\n%s", args, r)
	}
	if after := outsideSnapshot(h.t, h.dirs, h.skip); after != h.before {
		h.t.Fatalf("plat %v changed something outside deploy_to:\nbefore:\n%s\nafter:\n%s", args, h.before, after)
	}
	return r
}

func (h *hostile) must(args ...string) result {
	h.t.Helper()
	r := h.plat(args...)
	if r.code != 0 {
		h.t.Fatalf("plat %v: %s", args, r)
	}
	return r
}

// path is a path under host1's deploy_to.
func (h *hostile) path(rel string) string { return filepath.Join(h.root, rel) }

func (h *hostile) link(target, rel string) {
	h.t.Helper()
	os.RemoveAll(h.path(rel))
	if err := os.Symlink(target, h.path(rel)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *hostile) current() string {
	cur, _ := os.Readlink(h.path("current"))
	return cur
}

// says checks that out names host1 and each of wants.
func (h *hostile) says(out string, wants ...string) {
	h.t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			h.t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(out, "host1") {
		h.t.Errorf("output does not name the host:\n%s", out)
	}
}

func TestHostileHostState(t *testing.T) {
	h := newHostile(t)
	found := "found on the host in " + h.root + ": "

	t.Run("garbage and truncated history", func(t *testing.T) {
		f, err := os.OpenFile(h.path(".plat/history"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "\x00\xffgarbage line\n%s\n{\"event\":\"deploy\",\"rele", `{"event":"deploy","release":"../../elsewhere","outcome":"ok"}`)
		f.Close()
		r := h.must("push", "fleet", "--force")
		h.says(r.stdout, found+".plat/history has 3 unreadable line(s): skipped")
		serves(t, h.ports, "release r2")
		// The record after a cut line is a line of its own, readable.
		b, _ := os.ReadFile(h.path(".plat/history"))
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		var last struct{ Release, Outcome string }
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Release != "r2" || last.Outcome != "ok" {
			t.Fatalf("last history line %q: %v", lines[len(lines)-1], err)
		}
		if r := h.must("releases", "fleet"); !strings.Contains(r.stdout, "r2") || strings.Contains(r.stdout, "elsewhere") {
			t.Errorf("releases:\n%s", r.stdout)
		}
	})

	t.Run("garbage lock file", func(t *testing.T) {
		if err := os.MkdirAll(h.path(".plat/lock"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h.path(".plat/lock/info"), []byte("\x00\xff not a lock\nexpires=tomorrow\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := h.plat("push", "fleet", "--force")
		if r.code != 3 {
			t.Fatalf("push over a fresh unreadable lock: %s", r)
		}
		h.says(r.stderr, h.root+"/.plat/lock/info is unreadable", "plat lock fleet break")
		if r := h.must("lock", "fleet"); !strings.Contains(r.stdout, "unreadable") {
			t.Errorf("plat lock does not show the unreadable lock:\n%s", r.stdout)
		}
		old := time.Now().Add(-2 * time.Minute)
		os.Chtimes(h.path(".plat/lock/info"), old, old)
		r = h.must("push", "fleet", "--force")
		h.says(r.stdout, "took over a lock whose "+h.root+"/.plat/lock/info was unreadable")
		serves(t, h.ports, "release r3")
	})

	t.Run("current outside deploy_to", func(t *testing.T) {
		for _, target := range []string{h.elsewhere, "releases/../../../" + filepath.Base(filepath.Dir(h.elsewhere))} {
			h.link(target, "current")
			r := h.plat("status", "fleet", "--verify")
			h.says(r.stdout+r.stderr, found+fmt.Sprintf("current points to %q", strings.TrimPrefix(target, "releases/")))
		}
		r := h.must("push", "fleet", "--force")
		h.says(r.stdout, found+"current points to")
		if h.current() != "releases/r4" {
			t.Errorf("current -> %s after the push, want releases/r4", h.current())
		}
		serves(t, h.ports, "release r4")
	})

	t.Run("current to a missing release", func(t *testing.T) {
		h.link("releases/r99", "current")
		r := h.plat("status", "fleet", "--verify")
		h.says(r.stdout+r.stderr, found+"current points to releases/r99, which does not exist")
		r = h.must("push", "fleet", "--force")
		h.says(r.stdout, found+"current points to releases/r99, which does not exist")
		if h.current() != "releases/r5" {
			t.Errorf("current -> %s, want releases/r5", h.current())
		}
		serves(t, h.ports, "release r5")
	})

	t.Run("release dir replaced by a symlink", func(t *testing.T) {
		// The current release r5 becomes a link to elsewhere.
		h.link(h.elsewhere, "releases/r5")
		r := h.plat("status", "fleet", "--verify")
		h.says(r.stdout+r.stderr, found+fmt.Sprintf("releases/r5 is a symbolic link to %q", h.elsewhere), found+"current points to releases/r5, a symbolic link")
		// Back to r4: host1 has it, host2 too.
		h.must("rollback", "fleet")
		serves(t, h.ports, "release r4")
		// To r5: host2 switches, host1 refuses the link, naming it.
		r = h.plat("rollback", "fleet", "r5")
		if r.code == 0 {
			t.Fatalf("rollback to a release that is a link on host1 succeeded:\n%s", r)
		}
		h.says(r.stderr, h.root+"/releases/r5 is a symbolic link (to "+h.elsewhere+")")
		if h.current() != "releases/r4" {
			t.Errorf("host1 current -> %s, want releases/r4", h.current())
		}
		// Pushes go on, every one uploading whole to host1; prune
		// (keep_releases = 2) never removes the link nor what it points to.
		for _, id := range []string{"r6", "r7"} {
			r = h.must("push", "fleet", "--force")
			h.says(r.stdout, found+"releases/r5 is a symbolic link")
			serves(t, h.ports, "release "+id)
		}
		if fi, err := os.Lstat(h.path("releases/r5")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("releases/r5 after prune: %v %v", fi, err)
		}
		if got := releaseDirs(t, h.root); got != "r5 r6 r7" {
			t.Errorf("host1 releases after prune: %s, want r5 (the link) r6 r7", got)
		}
	})

	t.Run("manifest that lies", func(t *testing.T) {
		rel := h.path("releases/r7")
		// A file gone, one added, the manifest with an entry for a file
		// that is not there: status --verify shows the drift.
		if err := os.Remove(filepath.Join(rel, "VERSION")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rel, "stray.txt"), []byte("stray\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		m := filepath.Join(rel, ".plat", "manifest")
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(m, append(b, []byte("f 0644 6 "+strings.Repeat("cd", 32)+" zz-ghost.txt\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		r := h.plat("status", "fleet", "--verify")
		h.says(r.stdout+r.stderr, "VERSION", "stray.txt", "zz-ghost.txt")
		// The next push's delta from r7 does not match the files: plat
		// sends the release whole, and it verifies clean.
		h.p.write("VERSION", "3.0.0\n")
		r = h.must("push", "fleet")
		h.says(r.stdout, "release r7 on the host does not match its manifest; sending the whole release")
		serves(t, h.ports, "notes 3.0.0")
		// A manifest that names a path outside the release is not used.
		m = filepath.Join(h.path("releases/r8"), ".plat", "manifest")
		b, err = os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(m, append(b, []byte("f 0644 18 "+strings.Repeat("ab", 32)+" ../../../elsewhere/sentinel\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		h.p.write("VERSION", "4.0.0\n")
		r = h.must("push", "fleet")
		h.says(r.stdout, found+"manifest of r8 is unreadable", "leaves the release")
		serves(t, h.ports, "notes 4.0.0")
		if r := h.must("status", "fleet", "--verify"); !strings.Contains(r.stdout, "host1: r9 verified, no drift") || !strings.Contains(r.stdout, "host2: r9 verified, no drift") {
			t.Errorf("status --verify after the whole upload:\n%s", r.stdout)
		}
	})

	t.Run("release names with dot-dot", func(t *testing.T) {
		for _, d := range []string{"releases/r..", "releases/r1..", "releases/r..x"} {
			if err := os.MkdirAll(h.path(d), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(h.path(d+"/keep"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		h.link("releases/..", "current")
		r := h.must("push", "fleet", "--force")
		h.says(r.stdout, found+"releases/r.. is not a release plat made", found+`current points to ".."`)
		serves(t, h.ports, "release r10")
		for _, d := range []string{"releases/r..", "releases/r1..", "releases/r..x"} {
			if _, err := os.Stat(h.path(d + "/keep")); err != nil {
				t.Errorf("%s: %v", d, err)
			}
		}
		h.must("rollback", "fleet")
		serves(t, h.ports, "release r9")
	})

	if b, err := os.ReadFile(filepath.Join(h.elsewhere, "sentinel")); err != nil || string(b) != "outside deploy_to\n" {
		t.Fatalf("the sentinel outside deploy_to: %q, %v", b, err)
	}
}

// releaseDirs lists releases/r* on a host's deploy_to.
func releaseDirs(t *testing.T, root string) string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, "releases"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "r") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// A tree with symlinks out of it and odd names, pushed through the built
// binary to an sshd host: every file arrives with its name and content,
// every link as the same link (its target is never read), and what plat
// cannot carry is refused naming the path.
func TestHostileTree(t *testing.T) {
	fleet := sshtest.New(t, 1)
	p := newProject(t)
	ports := p.sshEnv(fleet, "")
	t.Cleanup(func() { p.plat("down", "fleet") })
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.MkdirAll(filepath.Join(outside, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	secret := "SECRET outside the tree\n"
	for _, f := range []string{"secret.txt", "dir/inner.txt"} {
		if err := os.WriteFile(filepath.Join(outside, f), []byte(secret), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{`"double" and 'single' quotes.txt`, "-leading-dash", "--rf", "ünïcode-日本語-🙂.txt", strings.Repeat("n", 255),
		"odd dir/" + strings.Repeat("é", 127)}
	for _, n := range names {
		path := filepath.Join(p.dir, "odd", filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("content of "+n+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"odd/abs-link": filepath.Join(outside, "secret.txt"), "odd/rel-link": "../../outside/secret.txt",
		"odd/dir-link": filepath.Join(outside, "dir"), "odd/-dash-link": "-leading-dash"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(p.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	p.git("add", "-A")
	p.git("commit", "-q", "-m", "hostile tree")
	p.mustPlat("push", "fleet")
	serves(t, ports, "release r1")
	rel := filepath.Join(fleet.Hosts[0].Root, "releases", "r1")
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(rel, "odd", filepath.FromSlash(n)))
		if err != nil || string(b) != "content of "+n+"\n" {
			t.Errorf("%q on the host: %q, %v", n, b, err)
		}
	}
	for name, target := range links {
		if got, err := os.Readlink(filepath.Join(rel, name)); err != nil || got != target {
			t.Errorf("%s on the host: link to %q (%v), want %q", name, got, err, target)
		}
	}
	filepath.WalkDir(rel, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), "SECRET") {
				t.Errorf("the release holds the outside content in %s", path)
			}
		}
		return nil
	})
	p.mustPlat("status", "fleet", "--verify")

	// A symlink in the private settings dir is refused, naming it.
	priv := filepath.Join(p.root, "notes-private", "local", "linked.json")
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), priv); err != nil {
		t.Fatal(err)
	}
	r := p.plat("push", "fleet")
	if r.code == 0 || !strings.Contains(r.stderr, priv+" is a symbolic link") {
		t.Fatalf("push with a linked private file: %s", r)
	}
	os.Remove(priv)

	// A private file under a dir of the app that is a link out: refused.
	if err := os.Symlink(outside, filepath.Join(p.dir, "conf")); err != nil {
		t.Fatal(err)
	}
	p.git("add", "-A")
	p.git("commit", "-q", "-m", "conf is a link")
	privConf := filepath.Join(p.root, "notes-private", "local", "conf")
	os.MkdirAll(privConf, 0o755)
	if err := os.WriteFile(filepath.Join(privConf, "db.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = p.plat("push", "fleet")
	if r.code == 0 || !strings.Contains(r.stderr, "conf in the app is a symbolic link") {
		t.Fatalf("push writing a private file through an app link: %s", r)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 2 {
		t.Errorf("outside now holds %d entries", len(ents))
	}
	os.RemoveAll(privConf)
	p.git("rm", "-q", "conf")
	p.git("commit", "-q", "-m", "no conf link")

	// A name with a newline: refused, naming the path.
	if err := os.WriteFile(filepath.Join(p.dir, "odd", "two\nlines"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("add", "-A")
	p.git("commit", "-q", "-m", "newline name")
	r = p.plat("push", "fleet")
	if r.code == 0 || !strings.Contains(r.stderr, `odd/two\nlines`) || !strings.Contains(r.stderr, "newlines") {
		t.Fatalf("push with a newline name: %s", r)
	}
	p.git("rm", "-q", "odd/two\nlines")
	p.git("commit", "-q", "-m", "no newline name")

	// A detached HEAD deploys its commit.
	p.write("VERSION", "5.0.0\n")
	p.git("checkout", "-q", "--detach")
	sha := strings.TrimSpace(p.gitOut("rev-parse", "HEAD"))
	p.mustPlat("push", "fleet")
	serves(t, ports, "notes 5.0.0")
	if r := p.mustPlat("releases", "fleet"); !strings.Contains(r.stdout, sha[:7]) {
		t.Errorf("releases after a detached push lacks %s:\n%s", sha[:7], r.stdout)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != secret {
		t.Errorf("outside file changed: %q", b)
	}
}

// A repository without a commit has nothing to push: plat says so.
func TestPushEmptyRepository(t *testing.T) {
	p := newProject(t)
	if err := os.RemoveAll(filepath.Join(p.dir, ".git")); err != nil {
		t.Fatal(err)
	}
	p.git("init", "-q", "-b", "main")
	r := p.plat("push", "local")
	if r.code != 2 || !strings.Contains(r.stderr, "has no commits yet") || !strings.Contains(r.stderr, p.dir) {
		t.Fatalf("push from an empty repository: %s", r)
	}
}
