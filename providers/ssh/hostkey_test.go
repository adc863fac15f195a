package ssh

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func pubKey(t *testing.T, k any) ssh.PublicKey {
	t.Helper()
	p, err := ssh.NewPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHostKeyAlgorithmsFromKnownHosts(t *testing.T) {
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ed, rs, ec := pubKey(t, edPub), pubKey(t, &rsaKey.PublicKey), pubKey(t, &ecKey.PublicKey)

	file := filepath.Join(t.TempDir(), "known_hosts")
	lines := []string{
		knownHostsLine("web1:2222", ed, false),
		knownHostsLine("web1:2222", rs, true),
		knownHostsLine("web2:22", ec, false),
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hk, err := loadHostKeys([]string{file, filepath.Join(t.TempDir(), "missing")}, file)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want []string
	}{
		{"web1:2222", []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}},
		{"web2:22", []string{ssh.KeyAlgoECDSA256}},
		{"web1:22", nil}, // another port is another host
		{"web3:22", nil},
	}
	for _, tt := range tests {
		if got := hk.algorithms(tt.addr); !slices.Equal(got, tt.want) {
			t.Errorf("algorithms(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if !strings.HasPrefix(lines[0], "[web1]:2222 ssh-ed25519 ") || !strings.HasPrefix(knownHostsLine("web2:22", ec, false), "web2 ecdsa-sha2-nistp256 ") {
		t.Errorf("plain entries: %q", lines)
	}
	if !strings.HasPrefix(lines[1], "|1|") {
		t.Errorf("hashed entry: %q", lines[1])
	}
}

func TestRecordHostKeyAppendsOnItsOwnLine(t *testing.T) {
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte("# no trailing newline"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := recordHostKey(file, "web1:22", pubKey(t, edPub), false); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(got) != 2 || got[0] != "# no trailing newline" || !strings.HasPrefix(got[1], "web1 ssh-ed25519 ") {
		t.Fatalf("known_hosts = %q", data)
	}
}
