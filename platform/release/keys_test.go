package release

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreEncryptsPrivateContent(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := "private-token-8f2a"
	if err := os.WriteFile(filepath.Join(src, "settings.json"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "public.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Scan(src, ScanOptions{Private: map[string]bool{"settings.json": true}})
	if err != nil {
		t.Fatal(err)
	}
	idPath := filepath.Join(dir, "cfg", "age", "identity")
	st := &Store{Root: filepath.Join(dir, "store"), Keys: NewKeyring(idPath)}

	// A store written before encryption holds private content in plain.
	priv, _ := m.Lookup("settings.json")
	legacy := st.ObjectPath(priv.Hash)
	if err := os.MkdirAll(filepath.Dir(legacy), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(legacy, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := read(t, st, priv.Hash); got != secret {
		t.Fatalf("legacy plain object reads %q", got)
	}

	if err := st.AddTree(src, m); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("the plain copy of private content is still there: %v", err)
	}
	enc, err := os.ReadFile(legacy + ".age")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte(secret)) || !bytes.HasPrefix(enc, []byte("age-encryption.org/v1")) {
		t.Errorf("private object is not age-encrypted:\n%s", enc)
	}
	if got := read(t, st, priv.Hash); got != secret {
		t.Errorf("decrypted private content %q", got)
	}
	pub, _ := m.Lookup("public.txt")
	if got := read(t, st, pub.Hash); got != "hello" {
		t.Errorf("public content %q", got)
	}
	fi, err := os.Stat(idPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity %v %v", err, fi)
	}
	if b, _ := os.ReadFile(idPath); !strings.Contains(string(b), "AGE-SECRET-KEY-1") {
		t.Errorf("identity is not in age-keygen's format:\n%s", b)
	}

	// Secret values: encrypted, readable back with the same identity only.
	if err := st.RecordSecrets("prod", "r1", map[string]string{"DB": "pw-" + secret}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(st.Root, "envs", "prod", "r1.secrets.age"))
	if bytes.Contains(raw, []byte(secret)) {
		t.Error("secret values are stored in plain")
	}
	got, err := st.Secrets("prod", "r1")
	if err != nil || got["DB"] != "pw-"+secret {
		t.Errorf("secrets read back: %v %v", got, err)
	}
	other := &Store{Root: st.Root, Keys: NewKeyring(filepath.Join(dir, "other"))}
	if _, err := other.Secrets("prod", "r1"); err == nil || !strings.Contains(err.Error(), "is it the identity") {
		t.Errorf("another identity decrypts the store: %v", err)
	}
	// An identity others can read is refused.
	if err := os.Chmod(idPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewKeyring(idPath).Recipient(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a 0644 identity is used: %v", err)
	}
}

func read(t *testing.T, st *Store, h string) string {
	t.Helper()
	f, err := st.Open(h)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
