package vagrant

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xssh "golang.org/x/crypto/ssh"
)

func hashed(host string) string {
	salt := []byte("0123456789abcdefghij")
	m := hmac.New(sha1.New, salt)
	m.Write([]byte(host))
	return "|1|" + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestForgetHostKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_hosts")
	lines := []string{
		"web1 ssh-ed25519 AAAA1",
		"web2 ssh-ed25519 AAAA2",
		"[web2]:22 ecdsa-sha2-nistp256 AAAA3",
		hashed("web2") + " ssh-rsa AAAA4",
		hashed("web3") + " ssh-rsa AAAA5",
		"web10,web2x ssh-ed25519 AAAA6",
		"@revoked web2 ssh-ed25519 AAAA7",
		"# web2 comment",
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := forgetHostKeys(path, []string{"web2"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{lines[0], lines[4], lines[5], lines[6], lines[7]}, "\n") + "\n"
	if string(got) != want {
		t.Fatalf("known_hosts after forgetting web2:\n%s\nwant:\n%s", got, want)
	}
	if err := forgetHostKeys(filepath.Join(t.TempDir(), "missing"), []string{"web1"}); err != nil {
		t.Fatalf("missing known_hosts: %v", err)
	}
}

func TestEnsureKey(t *testing.T) {
	dir := t.TempDir()
	path, pub, err := ensureKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key %s: %v mode %v", path, err, st.Mode())
	}
	data, _ := os.ReadFile(path)
	signer, err := xssh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := authorizedKey(signer.PublicKey()); pub != want || !strings.HasPrefix(pub, "ssh-ed25519 ") {
		t.Fatalf("public key %q, want %q", pub, want)
	}
	// Stable across calls: machines keep trusting it.
	path2, pub2, err := ensureKey(dir)
	if err != nil || path2 != path || pub2 != pub {
		t.Fatalf("second ensureKey = %q %q %v", path2, pub2, err)
	}
}

func TestBroughtUpRecord(t *testing.T) {
	dir := t.TempDir()
	got, err := readBroughtUp(dir)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty record = %v, %v", got, err)
	}
	if err := recordBroughtUp(dir, []string{"web1", "web2"}); err != nil {
		t.Fatal(err)
	}
	got, err = readBroughtUp(dir)
	if err != nil || !got["web1"] || !got["web2"] || len(got) != 2 {
		t.Fatalf("record = %v, %v", got, err)
	}
}
