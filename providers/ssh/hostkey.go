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
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key for %s is revoked (%s line %d)", e.Host, e.File, e.Line)
	case e.Known && e.Offered == "":
		return fmt.Sprintf("host key mismatch for %s: the server offers none of the key types recorded in %s line %d; "+
			"hint: if the host was reinstalled, verify its new key and remove the old entry: ssh-keygen -R %s -f %s",
			e.Host, e.File, e.Line, shellquote([]string{knownhosts.Normalize(e.Addr)}), e.File)
	case e.Known:
		return fmt.Sprintf("host key mismatch for %s: the server offered %s, which differs from %s line %d; "+
			"this could be an attack or a reinstalled host; hint: verify the new key, then remove the old entry: ssh-keygen -R %s -f %s",
			e.Host, e.Offered, e.File, e.Line, shellquote([]string{knownhosts.Normalize(e.Addr)}), e.File)
	default:
		host, port, err := net.SplitHostPort(e.Addr)
		if err != nil {
			host, port = e.Addr, "22"
		}
		return fmt.Sprintf("unknown host key for %s: %s is not in %s (server offered %s); "+
			"hint: set trust = \"accept-new\" in the provider block to record it on first connect, "+
			"or verify and add it with: ssh-keyscan -p %s %s >> %s",
			e.Host, knownhosts.Normalize(e.Addr), e.File, e.Offered, port, host, e.File)
	}
}

// hostKeys verifies host keys against known_hosts files.
type hostKeys struct {
	files []string // existing files read
	write string
	check ssh.HostKeyCallback // nil when no file exists
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

// probeKey is never a real host key: checking it lists the known keys.
func probeKey() ssh.PublicKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "plat known_hosts probe key")
	pub, _ := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed).Public())
	return pub
}

// known returns the keys known_hosts has for addr (name:port).
func (hk *hostKeys) known(addr string) []knownhosts.KnownKey {
	if hk.check == nil {
		return nil
	}
	remote := &net.TCPAddr{IP: net.IPv4zero, Port: 22}
	var ke *knownhosts.KeyError
	if err := hk.check(addr, remote, probeKey()); errors.As(err, &ke) {
		return ke.Want
	}
	return nil
}

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
	for _, k := range hk.known(addr) {
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
// when e.trust is accept-new and the host is unknown.
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
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &re):
			return &HostKeyError{Host: e.alias, Addr: e.hostKeyAddr, File: re.Revoked.Filename, Line: re.Revoked.Line, Revoked: true}
		case errors.As(err, &ke) && len(ke.Want) > 0:
			return &HostKeyError{Host: e.alias, Addr: e.hostKeyAddr, File: ke.Want[0].Filename, Line: ke.Want[0].Line,
				Offered: fingerprint(key), Known: true}
		case errors.As(err, &ke):
			if e.trust != TrustAcceptNew {
				return &HostKeyError{Host: e.alias, Addr: e.hostKeyAddr, File: hk.write, Offered: fingerprint(key)}
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
