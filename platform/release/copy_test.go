package release

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A release copied to another store (the team's) carries its content,
// private files still encrypted, and its secrets; the copy is complete
// enough to read back everything, and idempotent.
func TestCopyRelease(t *testing.T) {
	keys := NewKeyring(filepath.Join(t.TempDir(), "identity"))
	local := &Store{Root: filepath.Join(t.TempDir(), "local"), Keys: keys}
	team := &Store{Root: filepath.Join(t.TempDir(), "team"), Keys: keys}
	tree := t.TempDir()
	os.WriteFile(filepath.Join(tree, "app.py"), []byte("print('hi')\n"), 0o644)
	os.WriteFile(filepath.Join(tree, "settings.json"), []byte(`{"key":"hush-hush"}`), 0o600)
	os.Symlink("app.py", filepath.Join(tree, "main.py"))
	m, err := Scan(tree, ScanOptions{Private: map[string]bool{"settings.json": true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := local.AddTree(tree, m); err != nil {
		t.Fatal(err)
	}
	rel := &Release{ID: "r1", Env: "prod", App: "notes", Time: time.Now().UTC(), ManifestHash: m.Hash()}
	if err := local.Record(rel, m); err != nil {
		t.Fatal(err)
	}
	if err := local.RecordSecrets("prod", "r1", map[string]string{"TOKEN": "s3cr3t"}); err != nil {
		t.Fatal(err)
	}
	n, err := local.CopyRelease(team, "prod", "r1")
	if err != nil || n != 3 {
		t.Fatalf("copy: %d objects, %v; want 3", n, err)
	}
	if n, err := local.CopyRelease(team, "prod", "r1"); err != nil || n != 0 {
		t.Errorf("second copy: %d objects, %v; want nothing to do", n, err)
	}
	// Back into an empty store, as a fresh clone does.
	fresh := &Store{Root: filepath.Join(t.TempDir(), "fresh"), Keys: keys}
	if _, err := team.CopyRelease(fresh, "prod", "r1"); err != nil {
		t.Fatal(err)
	}
	got, err := fresh.Manifest("prod", "r1")
	if err != nil || got.Hash() != m.Hash() {
		t.Fatalf("manifest from the copy: %v", err)
	}
	for _, e := range got.Entries {
		if e.Kind == KindSymlink && e.Target != "app.py" {
			t.Errorf("symlink target %q", e.Target)
		}
		if !e.IsFile() {
			continue
		}
		r, err := fresh.Open(e.Hash)
		if err != nil {
			t.Fatalf("%s: %v", e.Path, err)
		}
		var b bytes.Buffer
		b.ReadFrom(r)
		r.Close()
		want, _ := os.ReadFile(filepath.Join(tree, e.Path))
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s: %q", e.Path, b.Bytes())
		}
	}
	if s, err := fresh.Secrets("prod", "r1"); err != nil || s["TOKEN"] != "s3cr3t" {
		t.Errorf("secrets from the copy: %v %v", s, err)
	}
	// Nothing private is plain in the team store, and every file is 0600.
	filepath.Walk(team.Root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", path, info.Mode())
		}
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), "hush-hush") || strings.Contains(string(b), "s3cr3t") {
			t.Errorf("%s holds a private value in plain", path)
		}
		return nil
	})
	// Immutable: another r1 is refused.
	other := &Release{ID: "r1", Env: "prod", App: "notes", ManifestHash: strings.Repeat("0", 64)}
	elsewhere := &Store{Root: filepath.Join(t.TempDir(), "elsewhere"), Keys: keys}
	elsewhere.Record(other, &Manifest{})
	if _, err := elsewhere.CopyRelease(team, "prod", "r1"); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("copy of another r1: %v", err)
	}
}
