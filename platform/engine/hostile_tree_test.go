package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Private settings are regular files of the private dir: a symlink among
// them (to anywhere) is refused naming it, and a private file is never
// written through a directory of the app tree that is a symlink.
func TestOverlayPrivateRefusesLinks(t *testing.T) {
	root := t.TempDir()
	mk := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(root, "outside")
	mk(filepath.Join(outside, "secret.json"), "outside\n")

	for _, target := range []string{filepath.Join(outside, "secret.json"), "../outside/secret.json"} {
		priv, app := filepath.Join(root, "priv-"+filepath.Base(filepath.Dir(target))), filepath.Join(root, "app")
		mk(filepath.Join(priv, "settings.json"), "{}")
		os.MkdirAll(app, 0o755)
		if err := os.Symlink(target, filepath.Join(priv, "linked.json")); err != nil {
			t.Fatal(err)
		}
		_, err := overlayPrivate(priv, app)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(priv, "linked.json")+" is a symbolic link (to "+target+")") {
			t.Errorf("overlay with a linked private file: %v", err)
		}
		if _, err := os.Stat(filepath.Join(app, "linked.json")); err == nil {
			t.Errorf("the linked private file was copied into the app")
		}
		os.RemoveAll(priv)
		os.RemoveAll(app)
	}

	priv, app := filepath.Join(root, "priv"), filepath.Join(root, "app")
	mk(filepath.Join(priv, "config", "db.json"), `{"password":"x"}`)
	os.MkdirAll(app, 0o755)
	if err := os.Symlink(outside, filepath.Join(app, "config")); err != nil {
		t.Fatal(err)
	}
	_, err := overlayPrivate(priv, app)
	if err == nil || !strings.Contains(err.Error(), "config in the app is a symbolic link") {
		t.Errorf("overlay through a linked app dir: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("outside now holds %d entries", len(ents))
	}

	// A private file over an app file that is a link replaces the link.
	os.Remove(filepath.Join(app, "config"))
	os.MkdirAll(filepath.Join(app, "config"), 0o755)
	if err := os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(app, "config", "db.json")); err != nil {
		t.Fatal(err)
	}
	names, err := overlayPrivate(priv, app)
	if err != nil || !names["config/db.json"] {
		t.Fatalf("overlay = %v, %v", names, err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.json")); string(b) != "outside\n" {
		t.Errorf("the outside file was written through the app's link: %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(app, "config", "db.json")); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("config/db.json: %v %v", fi, err)
	}
}
