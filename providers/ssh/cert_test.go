package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// signedCert certifies a new ed25519 key with a new CA.
func signedCert(t *testing.T, typ uint32, after, before time.Time) (*ssh.Certificate, ssh.Signer) {
	t.Helper()
	_, caPriv, _ := ed25519.GenerateKey(rand.Reader)
	ca, err := ssh.NewSignerFromKey(caPriv)
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert := &ssh.Certificate{
		Key: signer.PublicKey(), CertType: typ, KeyId: "test", ValidPrincipals: []string{"root"},
		ValidAfter: uint64(after.Unix()), ValidBefore: uint64(before.Unix()),
	}
	if before.IsZero() {
		cert.ValidBefore = ssh.CertTimeInfinity
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return cert, signer
}

func writePub(t *testing.T, pub ssh.PublicKey) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key-cert.pub")
	if err := os.WriteFile(p, ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadUserCert(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	valid, _ := signedCert(t, ssh.UserCert, now.Add(-time.Hour), now.Add(time.Hour))
	forever, _ := signedCert(t, ssh.UserCert, time.Unix(0, 0), time.Time{})
	expired, _ := signedCert(t, ssh.UserCert, now.Add(-2*time.Hour), now.Add(-time.Hour))
	future, _ := signedCert(t, ssh.UserCert, now.Add(time.Hour), now.Add(2*time.Hour))
	host, _ := signedCert(t, ssh.HostCert, now.Add(-time.Hour), now.Add(time.Hour))

	for _, c := range []*ssh.Certificate{valid, forever} {
		p := writePub(t, c)
		got, err := readUserCert(p, now)
		if err != nil || !sameKey(got.Key, c.Key) {
			t.Errorf("valid certificate: %v", err)
		}
	}
	for _, tt := range []struct {
		name string
		pub  ssh.PublicKey
		want string
	}{
		{"expired", expired, "expired at 2030-01-01T11:00:00Z (valid from 2030-01-01T10:00:00Z to 2030-01-01T11:00:00Z)"},
		{"not yet valid", future, "not valid before 2030-01-01T13:00:00Z"},
		{"host certificate", host, "it is a host certificate, not a user certificate"},
		{"plain key", valid.Key, "holds a plain ssh-ed25519 public key, not a certificate"},
	} {
		p := writePub(t, tt.pub)
		_, err := readUserCert(p, now)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want %q naming %s", tt.name, err, tt.want, p)
		}
	}
	if _, err := readUserCert(filepath.Join(t.TempDir(), "none"), now); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func TestCertificatesGoBeforeTheirKey(t *testing.T) {
	now := time.Now()
	cert, signer := signedCert(t, ssh.UserCert, now.Add(-time.Hour), now.Add(time.Hour))
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewSignerFromKey(otherPriv)
	stray, _ := signedCert(t, ssh.UserCert, now.Add(-time.Hour), now.Add(time.Hour))

	certs := []*userCert{{file: "a-cert.pub", cert: cert}, {file: "stray-cert.pub", cert: stray}}
	signers, tried, notes := withCerts([]ssh.Signer{other, signer}, []string{"other", "mine"}, certs, nil)
	if want := []string{"other", "certificate a-cert.pub", "mine"}; !slices.Equal(tried, want) {
		t.Errorf("tried = %q, want %q", tried, want)
	}
	if len(signers) != 3 || signers[1].PublicKey().Type() != ssh.CertAlgoED25519v01 {
		t.Errorf("signers = %d, second %s", len(signers), signers[1].PublicKey().Type())
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "stray-cert.pub certifies key "+ssh.FingerprintSHA256(stray.Key)) {
		t.Errorf("notes = %q", notes)
	}
	// A certificate of a known key that cannot sign (passphrase, no
	// agent) is no mismatch.
	_, _, notes = withCerts(nil, nil, []*userCert{{file: "a-cert.pub", identity: "a", cert: cert}}, []ssh.PublicKey{cert.Key})
	if len(notes) != 0 {
		t.Errorf("notes = %q", notes)
	}
}

func TestCertAuthorityAlgorithms(t *testing.T) {
	caPub, _, _ := ed25519.GenerateKey(rand.Reader)
	hostPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ca, host := pubKey(t, caPub), pubKey(t, hostPub)
	file := filepath.Join(t.TempDir(), "known_hosts")
	lines := []string{
		"@cert-authority *.example.com " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ca))),
		knownHostsLine("web1.example.com:22", host, false),
		"# a comment",
		"@revoked * " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pubKey(t, ed25519.PublicKey(make([]byte, 32)))))),
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hk, err := loadHostKeys([]string{file}, file)
	if err != nil {
		t.Fatal(err)
	}
	keys, authorities := hk.known("web2.example.com:22")
	if len(keys) != 0 || len(authorities) != 1 || authorities[0].Line != 1 {
		t.Fatalf("web2: keys %v, authorities %v", keys, authorities)
	}
	if got, want := hk.algorithms("web2.example.com:22"), append(slices.Clone(certAlgorithms), plainAlgorithms...); !slices.Equal(got, want) {
		t.Errorf("only an authority: algorithms = %q, want %q", got, want)
	}
	if got, want := hk.algorithms("web1.example.com:22"), append(slices.Clone(certAlgorithms), ssh.KeyAlgoED25519); !slices.Equal(got, want) {
		t.Errorf("authority and a key: algorithms = %q, want %q", got, want)
	}
	if got := hk.algorithms("db.internal:22"); got != nil {
		t.Errorf("no authority: algorithms = %q", got)
	}
}

func TestAutomaticCertificateOnlyWithoutCertificateFile(t *testing.T) {
	now := time.Now()
	auto, _ := signedCert(t, ssh.UserCert, now.Add(-time.Hour), now.Add(time.Hour))
	named, _ := signedCert(t, ssh.UserCert, now.Add(-time.Hour), now.Add(time.Hour))
	dir := t.TempDir()
	id := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(id+"-cert.pub", ssh.MarshalAuthorizedKey(auto), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &endpoint{user: "root", identities: []identityFile{{path: id}, {path: filepath.Join(dir, "id_rsa")}}}
	certs, notes := loadUserCerts(e, now)
	if len(certs) != 1 || certs[0].file != id+"-cert.pub" || certs[0].identity != id || len(notes) != 0 {
		t.Fatalf("IDENTITY-cert.pub: certs %v, notes %q", certs, notes)
	}
	// CertificateFile replaces the automatic ones, as in OpenSSH; a
	// missing one is a note naming it.
	e.certificates = []string{writePub(t, named), filepath.Join(dir, "missing-cert.pub")}
	certs, notes = loadUserCerts(e, now)
	if len(certs) != 1 || certs[0].file != e.certificates[0] {
		t.Fatalf("CertificateFile: certs %v", certs)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "certificate file "+e.certificates[1]+" does not exist") {
		t.Errorf("notes = %q", notes)
	}
}
