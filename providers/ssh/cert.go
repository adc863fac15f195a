package ssh

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// userCert is an OpenSSH user certificate read from a file, waiting for
// the private key of the key it certifies.
type userCert struct {
	file     string
	identity string // the identity file it sits next to ("" for CertificateFile)
	cert     *ssh.Certificate
	used     bool
}

// readUserCert reads an OpenSSH certificate (the one-line
// "TYPE-cert-v01@openssh.com BASE64 COMMENT" format ssh-keygen -s
// writes) and checks that it is a user certificate valid at now.
func readUserCert(file string, now time.Time) (*ssh.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, fmt.Errorf("certificate file %s: %w", file, err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("certificate file %s holds a plain %s public key, not a certificate (hint: sign it with ssh-keygen -s CA_KEY -I ID -n USER %s)",
			file, pub.Type(), strings.TrimSuffix(file, "-cert.pub")+".pub")
	}
	if err := checkUserCert(cert, now); err != nil {
		return nil, fmt.Errorf("certificate file %s: %w", file, err)
	}
	return cert, nil
}

// checkUserCert says why cert cannot authenticate a user at now, or nil.
// Whether its principals and CA suit the server is the server's to say.
func checkUserCert(cert *ssh.Certificate, now time.Time) error {
	if cert.CertType != ssh.UserCert {
		return errors.New("it is a host certificate, not a user certificate")
	}
	unix := now.Unix()
	if after := int64(cert.ValidAfter); after < 0 || unix < after {
		return fmt.Errorf("not valid before %s (%s); is this machine's clock right?", certTime(cert.ValidAfter), certValidity(cert))
	}
	if cert.ValidBefore != ssh.CertTimeInfinity {
		if before := int64(cert.ValidBefore); before < 0 || unix >= before {
			return fmt.Errorf("expired at %s (%s); the CA must sign a new one", certTime(cert.ValidBefore), certValidity(cert))
		}
	}
	return nil
}

func certTime(t uint64) string {
	if t == ssh.CertTimeInfinity || int64(t) < 0 {
		return "forever"
	}
	return time.Unix(int64(t), 0).UTC().Format(time.RFC3339)
}

// certValidity is how ssh-keygen -L shows a certificate's validity.
func certValidity(cert *ssh.Certificate) string {
	if cert.ValidAfter == 0 && cert.ValidBefore == ssh.CertTimeInfinity {
		return "valid forever"
	}
	return "valid from " + certTime(cert.ValidAfter) + " to " + certTime(cert.ValidBefore)
}

// loadUserCerts reads e's CertificateFile entries or, when there are
// none, the IDENTITY-cert.pub next to every identity file (as OpenSSH
// does). A missing IDENTITY-cert.pub is no certificate; every other
// problem is a note naming the file (the certificate is not offered).
func loadUserCerts(e *endpoint, now time.Time) (certs []*userCert, notes []string) {
	seen := map[string]bool{}
	add := func(file, identity string) {
		if seen[file] {
			return
		}
		seen[file] = true
		cert, err := readUserCert(file, now)
		switch {
		case err == nil:
			certs = append(certs, &userCert{file: file, identity: identity, cert: cert})
			if len(cert.ValidPrincipals) > 0 && !slices.Contains(cert.ValidPrincipals, e.user) {
				// Offered all the same: the server may map principals
				// (AuthorizedPrincipalsFile).
				notes = append(notes, fmt.Sprintf("certificate file %s is for the principals %q, which do not include the login user %s", file, cert.ValidPrincipals, e.user))
			}
		case identity != "" && errors.Is(err, fs.ErrNotExist):
		case errors.Is(err, fs.ErrNotExist):
			notes = append(notes, fmt.Sprintf("certificate file %s does not exist", file))
		default:
			notes = append(notes, err.Error())
		}
	}
	for _, f := range e.certificates {
		add(f, "")
	}
	if len(e.certificates) > 0 {
		return certs, notes
	}
	for _, id := range e.identities {
		add(id.path+"-cert.pub", id.path)
	}
	return certs, notes
}

// withCerts puts, before each signer, a signer for every certificate of
// its key: OpenSSH offers a key's certificate before the key itself.
// Certificates of no signer's key are notes.
// A certificate of a key in known (an identity file's public key) is not
// a mismatch when that key cannot sign: the note about the key says why.
func withCerts(signers []ssh.Signer, tried []string, certs []*userCert, known []ssh.PublicKey) ([]ssh.Signer, []string, []string) {
	var out []ssh.Signer
	var outTried, notes []string
	for i, s := range signers {
		for _, c := range certs {
			if !sameKey(c.cert.Key, s.PublicKey()) {
				continue
			}
			cs, err := ssh.NewCertSigner(c.cert, s)
			if err != nil {
				notes = append(notes, fmt.Sprintf("certificate file %s: %v", c.file, err))
				continue
			}
			c.used = true
			out = append(out, cs)
			outTried = append(outTried, "certificate "+c.file)
		}
		out = append(out, s)
		outTried = append(outTried, tried[i])
	}
	for _, c := range certs {
		switch {
		case c.used, containsKey(known, c.cert.Key):
		case c.identity != "":
			notes = append(notes, fmt.Sprintf("certificate file %s certifies key %s, not the key of identity file %s (a stale certificate? have %s.pub signed again)",
				c.file, ssh.FingerprintSHA256(c.cert.Key), c.identity, c.identity))
		default:
			notes = append(notes, fmt.Sprintf("certificate file %s certifies key %s, which is neither an identity file's nor an ssh-agent key (name its private key in IdentityFile, or ssh-add it)",
				c.file, ssh.FingerprintSHA256(c.cert.Key)))
		}
	}
	return out, outTried, notes
}

// agentCertProblem says why a certificate the agent holds cannot be
// offered, or "" (also for plain agent keys).
func agentCertProblem(pub ssh.PublicKey, now time.Time) string {
	if !strings.Contains(pub.Type(), "-cert-") {
		return ""
	}
	parsed, err := ssh.ParsePublicKey(pub.Marshal())
	if err != nil {
		return fmt.Sprintf("skipped ssh-agent certificate: %v", err)
	}
	cert, ok := parsed.(*ssh.Certificate)
	if !ok {
		return ""
	}
	if err := checkUserCert(cert, now); err != nil {
		return fmt.Sprintf("skipped ssh-agent certificate %q (key %s): %v", cert.KeyId, ssh.FingerprintSHA256(cert.Key), err)
	}
	return ""
}

func sameKey(a, b ssh.PublicKey) bool {
	return containsKey([]ssh.PublicKey{a}, b)
}
