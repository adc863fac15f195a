package release

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileNames are odd but valid release paths: each deploys faithfully.
var hostileNames = []string{
	`"double" and 'single' quotes`,
	"-leading-dash",
	"--rf",
	"ünïcode-日本語-🙂",
	"spaces  and\ttab",
	strings.Repeat("n", 255),
	"dir with space/" + strings.Repeat("é", 127), // 254 bytes
}

// A tree with symlinks out of it (absolute and ../) and odd names: Scan
// records each link as a link with its target, never the content it
// points to, and the store keeps only the link text.
func TestScanHostileTree(t *testing.T) {
	root := t.TempDir()
	app, outside := filepath.Join(root, "app"), filepath.Join(root, "outside")
	for _, d := range []string{app, outside, filepath.Join(outside, "dir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret := "SECRET outside the tree\n"
	for _, f := range []string{filepath.Join(outside, "secret.txt"), filepath.Join(outside, "dir", "inner.txt")} {
		if err := os.WriteFile(f, []byte(secret), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"abs-link":  filepath.Join(outside, "secret.txt"),
		"rel-link":  "../outside/secret.txt",
		"dir-link":  "../outside/dir",
		"abs-dir":   filepath.Join(outside, "dir"),
		"dangling":  "../nowhere",
		"-dash-lnk": "-leading-dash",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(app, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range hostileNames {
		p := filepath.Join(app, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Scan(app, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	for _, e := range m.Entries {
		if e.Hash == hex.EncodeToString(sum[:]) {
			t.Errorf("%s carries the outside file's content", e.Path)
		}
		if strings.HasPrefix(e.Path, "dir-link/") || strings.HasPrefix(e.Path, "abs-dir/") {
			t.Errorf("Scan followed a linked dir: %s", e.Path)
		}
	}
	for name, target := range links {
		e, ok := m.Lookup(name)
		if !ok || e.Kind != KindSymlink || e.Target != target {
			t.Errorf("%s: %+v, want a link to %s", name, e, target)
		}
	}
	for _, n := range hostileNames {
		if e, ok := m.Lookup(n); !ok || e.Kind != KindFile || e.Size != int64(len("content of "+n)) {
			t.Errorf("%q: %+v %v", n, e, ok)
		}
	}
	// The manifest round-trips through its text form.
	back, err := Parse(strings.NewReader(string(m.Bytes())))
	if err != nil || back.Hash() != m.Hash() {
		t.Fatalf("manifest does not round-trip: %v", err)
	}
	st := &Store{Root: filepath.Join(root, "store")}
	if err := st.AddTree(app, m); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(st.Root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "SECRET") {
				t.Errorf("the store holds the outside content in %s", p)
			}
		}
		return nil
	})
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != secret {
		t.Errorf("outside file changed: %q", b)
	}
}

// A name plat cannot carry (a newline breaks the manifest, the host's
// sha256sums and find output) is refused, naming the path.
func TestScanRefusesNewlineNames(t *testing.T) {
	app := t.TempDir()
	if err := os.MkdirAll(filepath.Join(app, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "sub", "two\nlines"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Scan(app, ScanOptions{})
	if err == nil || !strings.Contains(err.Error(), `"sub/two\nlines"`) || !strings.Contains(err.Error(), "newlines") {
		t.Fatalf("Scan = %v, want a refusal naming sub/two\\nlines", err)
	}
}

// The streaming forms give the same bytes as the whole ones.
func TestLinesAndListingDigest(t *testing.T) {
	m := &Manifest{Entries: []Entry{
		{Path: "a", Kind: KindDir, Mode: 0o755, Hash: "-"},
		{Path: "a/x y", Kind: KindFile, Mode: 0o644, Size: 3, Hash: strings.Repeat("ab", 32)},
		{Path: "b", Kind: KindSymlink, Mode: 0o777, Size: 1, Hash: strings.Repeat("cd", 32)},
		{Path: "c", Kind: KindPrivate, Mode: 0o600, Size: 9, Hash: strings.Repeat("ef", 32)},
	}}
	var lines strings.Builder
	for _, e := range m.Entries {
		lines.WriteString(e.Line())
	}
	if lines.String() != string(m.Bytes()) {
		t.Errorf("lines %q, manifest %q", lines.String(), m.Bytes())
	}
	sum := sha256.Sum256(m.Listing())
	if got := m.ListingDigest(); got != hex.EncodeToString(sum[:]) {
		t.Errorf("ListingDigest = %s, want %x", got, sum)
	}
}
