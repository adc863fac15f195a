package vagrant

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	xssh "golang.org/x/crypto/ssh"
)

// keyFile is the environment's private key, below the state directory.
const keyFile = "id_ed25519"

// ensureKey returns the environment's key pair (private key path, public
// key as an authorized_keys line), generating it on first use. Machines
// the generated Vagrantfile creates trust only this key: nothing shared
// like Vagrant's well-known insecure key is ever accepted.
func ensureKey(dir string) (string, string, error) {
	path := filepath.Join(dir, keyFile)
	if data, err := os.ReadFile(path); err == nil {
		signer, err := xssh.ParsePrivateKey(data)
		if err != nil {
			return "", "", fmt.Errorf("read key %s: %w (hint: remove it and run plat up again)", path, err)
		}
		return path, authorizedKey(signer.PublicKey()), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("read key: %w", err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	block, err := xssh.MarshalPrivateKey(priv, "plat vagrant")
	if err != nil {
		return "", "", fmt.Errorf("encode key: %w", err)
	}
	if err := writeFileIfChanged(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", "", err
	}
	sshPub, err := xssh.NewPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	line := authorizedKey(sshPub)
	if err := writeFileIfChanged(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		return "", "", err
	}
	return path, line, nil
}

func authorizedKey(k xssh.PublicKey) string {
	return strings.TrimSpace(string(xssh.MarshalAuthorizedKey(k))) + " plat-vagrant"
}

// forgetHostKeys removes the known_hosts entries of hosts (recorded under
// their HostKeyAlias, the machine name; plain or hashed). It is how a
// machine that plat just created replaces one of the same name: any other
// change of key is still refused.
func forgetHostKeys(path string, hosts []string) error {
	if len(hosts) == 0 {
		return nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read known_hosts: %w", err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	changed := false
	for sc.Scan() {
		line := sc.Text()
		if knownHostsLineMatches(line, hosts) {
			changed = true
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read known_hosts: %w", err)
	}
	if !changed {
		return nil
	}
	return writeFileIfChanged(path, out.Bytes(), 0o600)
}

func knownHostsLineMatches(line string, hosts []string) bool {
	f := strings.Fields(line)
	if len(f) < 3 || strings.HasPrefix(f[0], "#") {
		return false
	}
	patterns := f[0]
	if strings.HasPrefix(patterns, "@") {
		// @cert-authority and @revoked lines are not plat's to drop.
		return false
	}
	for _, p := range strings.Split(patterns, ",") {
		if strings.HasPrefix(p, "|1|") {
			for _, h := range hosts {
				if hashedMatch(p, h) {
					return true
				}
			}
			continue
		}
		if slices.Contains(hosts, p) || slices.Contains(hosts, strings.TrimSuffix(strings.TrimPrefix(p, "["), "]:22")) {
			return true
		}
	}
	return false
}

// hashedMatch checks a HashKnownHosts entry |1|salt|hash against host.
func hashedMatch(entry, host string) bool {
	parts := strings.Split(entry, "|")
	if len(parts) != 4 {
		return false
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[2])
	want, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	m := hmac.New(sha1.New, salt)
	m.Write([]byte(host))
	return hmac.Equal(m.Sum(nil), want)
}

// broughtUpFile lists the machines plat brought up for the environment.
const broughtUpFile = "machines"

func recordBroughtUp(dir string, names []string) error {
	var b strings.Builder
	b.WriteString("# Machines plat brought up with `vagrant up`; their SSH host keys are learned on first use.\n")
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return writeFileIfChanged(filepath.Join(dir, broughtUpFile), []byte(b.String()), 0o600)
}

func readBroughtUp(dir string) (map[string]bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, broughtUpFile))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", broughtUpFile, err)
	}
	out := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out[l] = true
		}
	}
	return out, nil
}
