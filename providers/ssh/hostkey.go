package ssh

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a host key plat refused: unknown (not in known_hosts and
// trust is strict), changed (known_hosts has other keys for the host), or
// revoked.
type HostKeyError struct {
	Host string // the host as the user named it
	Addr string // the name:port looked up in known_hosts
	// File and Line locate the known key (changed, revoked) or the file
	// that lacks one (unknown; Line is 0).
	File string
	Line int
	// Offered is the fingerprint of the key the server offered ("" when
	// the server offered no key of a type known_hosts has).
	Offered string
	Known   bool // known_hosts has keys for the host, none matching
	Revoked bool
	// RevokedCA: the revoked key is the certificate authority that signed
	// the host's certificate.
	RevokedCA bool
	// Authority locates the @cert-authority line trusted for the host
	// ("FILE line N"), "" when none is.
	Authority string
	// CertProblem is why the host certificate the server presented was
	// not accepted ("" when it presented none).
	CertProblem string
}

func (e *HostKeyError) Error() string {
	switch {
	case e.RevokedCA:
		return fmt.Sprintf("host certificate of %s is signed by a revoked certificate authority (%s line %d marks it @revoked)", e.Host, e.File, e.Line)
	case e.Revoked:
		return fmt.Sprintf("host key %s of %s is revoked (%s line %d marks it @revoked); plat will not connect to it", e.Offered, e.Host, e.File, e.Line)
	case e.Known && e.Offered == "":
		return fmt.Sprintf("host key mismatch for %s: the server offers none of the key types recorded in %s line %d; "+
			"hint: if the host was reinstalled, verify its new key and remove the old entry: ssh-keygen -R %s -f %s",
			e.Host, e.File, e.Line, shellquote([]string{knownhosts.Normalize(e.Addr)}), e.File)
	case e.Known:
		return fmt.Sprintf("host key mismatch for %s: the server offered %s, which differs from %s line %d%s; "+
			"this could be an attack or a reinstalled host; hint: verify the new key, then remove the old entry: ssh-keygen -R %s -f %s",
			e.Host, e.Offered, e.File, e.Line, e.certNote(), shellquote([]string{knownhosts.Normalize(e.Addr)}), e.File)
	case e.Authority != "":
		return fmt.Sprintf("host key of %s not accepted: %s trusts a certificate authority for %s, but %s, and its plain key %s is not in %s; "+
			"hint: give sshd a HostCertificate signed by that authority for the name %s (ssh-keygen -s CA_KEY -h -n %s HOST_KEY.pub)",
			e.Host, e.Authority, knownhosts.Normalize(e.Addr), e.certProblem(), e.Offered, e.File, e.principal(), e.principal())
	default:
		host, port, err := net.SplitHostPort(e.Addr)
		if err != nil {
			host, port = e.Addr, "22"
		}
		return fmt.Sprintf("unknown host key for %s: %s is not in %s (server offered %s%s); "+
			"hint: set trust = \"accept-new\" in the provider block to record it on first connect, "+
			"or verify and add it with: ssh-keyscan -p %s %s >> %s",
			e.Host, knownhosts.Normalize(e.Addr), e.File, e.Offered, e.certNote(), port, host, e.File)
	}
}

func (e *HostKeyError) certProblem() string {
	if e.CertProblem == "" {
		return "the server presented no host certificate"
	}
	return "its host certificate was refused: " + e.CertProblem
}

func (e *HostKeyError) certNote() string {
	if e.CertProblem == "" {
		return ""
	}
	return "; its host certificate was refused: " + e.CertProblem
}

func (e *HostKeyError) principal() string {
	if h, _, err := net.SplitHostPort(e.Addr); err == nil {
		return h
	}
	return e.Addr
}

// hostKeys verifies host keys against known_hosts files.
//
// knownhosts does the checking: plain keys, @cert-authority lines (host
// certificates through ssh.CertChecker) and @revoked lines. hostKeys
// adds what OpenSSH does around it: which lines are authorities (they are
// no known key of the host), the host key algorithms to ask for, and the
// fallback to a certificate's plain key.
type hostKeys struct {
	files []string // existing files read
	write string
	check ssh.HostKeyCallback // nil when no file exists
	// authority marks the @cert-authority lines, by file and line number.
	authority map[string]map[int]bool
}

func loadHostKeys(read []string, write string) (*hostKeys, error) {
	hk := &hostKeys{write: write}
	for _, f := range read {
		st, err := os.Stat(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read known_hosts: %w", err)
		}
		if st.Size() == 0 {
			continue // knownhosts rejects nothing, but skip the open
		}
		hk.files = append(hk.files, f)
		if err := hk.markAuthorities(f); err != nil {
			return nil, fmt.Errorf("read known_hosts: %w", err)
		}
	}
	if len(hk.files) > 0 {
		cb, err := knownhosts.New(hk.files...)
		if err != nil {
			return nil, fmt.Errorf("read known_hosts: %w", err)
		}
		hk.check = cb
	}
	return hk, nil
}

// markAuthorities records which lines of file are @cert-authority lines,
// numbered as knownhosts numbers them.
func (hk *hostKeys) markAuthorities(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	for i, line := range strings.Split(string(data), "\n") {
		marker, _, _ := strings.Cut(strings.TrimLeft(line, " \t"), " ")
		marker, _, _ = strings.Cut(marker, "\t")
		if marker == "@cert-authority" {
			if hk.authority == nil {
				hk.authority = map[string]map[int]bool{}
			}
			if hk.authority[file] == nil {
				hk.authority[file] = map[int]bool{}
			}
			hk.authority[file][i+1] = true
		}
	}
	return nil
}

func (hk *hostKeys) isAuthority(k knownhosts.KnownKey) bool {
	return hk.authority[k.Filename][k.Line]
}

// probeKey is never a real host key: checking it lists the known keys.
func probeKey() ssh.PublicKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "plat known_hosts probe key")
	pub, _ := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed).Public())
	return pub
}

// known returns the host keys known_hosts has for addr (name:port), and
// the certificate authorities it trusts for addr.
func (hk *hostKeys) known(addr string) (keys, authorities []knownhosts.KnownKey) {
	if hk.check == nil {
		return nil, nil
	}
	remote := &net.TCPAddr{IP: net.IPv4zero, Port: 22}
	var ke *knownhosts.KeyError
	if err := hk.check(addr, remote, probeKey()); errors.As(err, &ke) {
		return hk.split(ke.Want)
	}
	return nil, nil
}

// split separates host keys from certificate authorities.
func (hk *hostKeys) split(want []knownhosts.KnownKey) (keys, authorities []knownhosts.KnownKey) {
	for _, k := range want {
		if hk.isAuthority(k) {
			authorities = append(authorities, k)
		} else {
			keys = append(keys, k)
		}
	}
	return keys, authorities
}

// certAlgorithms are the host certificate algorithms, in OpenSSH's order
// of preference; plainAlgorithms the plain key algorithms likewise.
var (
	certAlgorithms = []string{
		ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
		ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
	}
	plainAlgorithms = []string{
		ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
	}
)

// algorithms returns the host key algorithms to offer so the server picks
// a key type known_hosts has for addr (nil: no preference).
func (hk *hostKeys) algorithms(addr string) []string {
	var algs []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algs = append(algs, a)
		}
	}
	keys, authorities := hk.known(addr)
	if len(authorities) > 0 {
		// A trusted authority may have signed a key of any type: ask for
		// certificates first, as OpenSSH does, so the server presents its
		// own. A server without one still has its plain keys checked.
		for _, a := range certAlgorithms {
			add(a)
		}
		if len(keys) == 0 {
			for _, a := range plainAlgorithms {
				add(a)
			}
		}
	}
	for _, k := range keys {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512)
			add(ssh.KeyAlgoRSASHA256)
			add(ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algs
}

// callback verifies the key a server offers for endpoint e, recording it
// when e.trust is accept-new and the host is unknown. A host certificate
// is accepted when a trusted authority signed it for the host; when it is
// not, its plain key is checked instead (OpenSSH does the same), unless
// the key or its authority is revoked.
func (hk *hostKeys) callback(e *endpoint) ssh.HostKeyCallback {
	return func(_ string, remote net.Addr, key ssh.PublicKey) error {
		var err error
		if hk.check == nil {
			err = &knownhosts.KeyError{}
		} else {
			err = hk.check(e.hostKeyAddr, remote, key)
		}
		if err == nil {
			return nil
		}
		certProblem := ""
		if cert, ok := key.(*ssh.Certificate); ok && hk.check != nil {
			var re *knownhosts.RevokedError
			if errors.As(hk.check(e.hostKeyAddr, remote, cert.SignatureKey), &re) {
				return &HostKeyError{Host: e.alias, Addr: e.hostKeyAddr, File: re.Revoked.Filename, Line: re.Revoked.Line,
					Offered: fingerprint(cert.Key), Revoked: true, RevokedCA: true}
			}
			certProblem = strings.TrimPrefix(err.Error(), "ssh: ")
			key = cert.Key
			err = hk.check(e.hostKeyAddr, remote, key)
			if err == nil {
				return nil
			}
		} else if ok {
			key = cert.Key
		}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &re):
			return &HostKeyError{Host: e.alias, Addr: e.hostKeyAddr, File: re.Revoked.Filename, Line: re.Revoked.Line,
				Offered: fingerprint(key), Revoked: true}
		case errors.As(err, &ke):
			keys, authorities := hk.split(ke.Want)
			if len(authorities) == 0 {
				certProblem = "" // no authority here could have vouched for it
			}
			if len(keys) > 0 {
				return &HostKeyError{Host: e.alias, Addr: e.hostKeyAddr, File: keys[0].Filename, Line: keys[0].Line,
					Offered: fingerprint(key), Known: true, CertProblem: certProblem}
			}
			if e.trust != TrustAcceptNew {
				hke := &HostKeyError{Host: e.alias, Addr: e.hostKeyAddr, File: hk.write, Offered: fingerprint(key), CertProblem: certProblem}
				if len(authorities) > 0 {
					hke.Authority = fmt.Sprintf("%s line %d", authorities[0].Filename, authorities[0].Line)
				}
				return hke
			}
			if err := recordHostKey(hk.write, e.hostKeyAddr, key, e.hashKnownHosts); err != nil {
				return fmt.Errorf("record host key of %s: %w", e.alias, err)
			}
			return nil
		default:
			return fmt.Errorf("verify host key of %s: %w", e.alias, err)
		}
	}
}

// fingerprint is how OpenSSH shows a key: "ED25519 SHA256:…".
func fingerprint(key ssh.PublicKey) string {
	t := strings.ToUpper(strings.TrimPrefix(key.Type(), "ssh-"))
	if strings.HasPrefix(t, "ECDSA") {
		t = "ECDSA"
	}
	return t + " " + ssh.FingerprintSHA256(key)
}

// knownHostsLine is the known_hosts entry for addr (name:port; the port
// is written as [name]:port when it is not 22), hashed or plain.
func knownHostsLine(addr string, key ssh.PublicKey, hashed bool) string {
	if !hashed {
		return knownhosts.Line([]string{addr}, key)
	}
	k := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	return knownhosts.HashHostname(knownhosts.Normalize(addr)) + " " + k
}

// recordHostKey appends one entry in a single write (O_APPEND keeps
// concurrent recorders from interleaving), creating the file 0600.
func recordHostKey(file, addr string, key ssh.PublicKey, hashed bool) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	line := knownHostsLine(addr, key, hashed) + "\n"
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		// Do not glue our entry onto a last line without a newline.
		if b, err := lastByte(file); err == nil && b != '\n' {
			line = "\n" + line
		}
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func lastByte(file string) (byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	b := make([]byte, 1)
	_, err = f.ReadAt(b, st.Size()-1)
	return b[0], err
}
