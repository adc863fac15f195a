package ssh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// keyring is the signers for one connection attempt and what was skipped,
// so an authentication failure can say why.
type keyring struct {
	signers []ssh.Signer
	tried   []string // descriptions of the keys offered
	notes   []string // skipped keys and why
	agent   io.Closer
}

func (k *keyring) Close() {
	if k.agent != nil {
		k.agent.Close()
	}
}

// loadKeys collects identity file keys, then the agent's keys, each
// preceded by its certificates (CertificateFile, IDENTITY-cert.pub, or
// held by the agent). An identity file protected by a passphrase is only
// usable through the agent; if nothing else is usable either, that is the
// error. A certificate that is expired, not yet valid, or certifies none
// of the keys is not offered; the note saying so names its file.
func loadKeys(e *endpoint, sock string) (*keyring, error) {
	k := &keyring{}
	now := time.Now()
	certs, certNotes := loadUserCerts(e, now)
	var agentKeys []ssh.Signer
	if sock != "" {
		c, err := net.Dial("unix", sock)
		if err != nil {
			k.notes = append(k.notes, fmt.Sprintf("ssh-agent at %s unreachable: %v", sock, err))
		} else {
			signers, err := agent.NewClient(c).Signers()
			if err != nil {
				c.Close()
				k.notes = append(k.notes, fmt.Sprintf("list ssh-agent keys: %v", err))
			} else {
				k.agent = c
				agentKeys = signers
			}
		}
	}
	inAgent := func(pub ssh.PublicKey) bool {
		for _, s := range agentKeys {
			if bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
				return true
			}
		}
		return false
	}

	var filePubs []ssh.PublicKey
	var locked []string
	for _, id := range e.identities {
		data, err := os.ReadFile(id.path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && !id.explicit {
				continue
			}
			k.Close()
			return nil, fmt.Errorf("read identity file: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(data)
		var pm *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pm):
			pub := pm.PublicKey
			if pub == nil {
				pub = readPublicKey(id.path + ".pub")
			}
			if pub != nil {
				filePubs = append(filePubs, pub)
				if inAgent(pub) {
					continue // the agent signs with it
				}
			}
			locked = append(locked, id.path)
			continue
		case err != nil:
			if !id.explicit {
				k.notes = append(k.notes, fmt.Sprintf("skipped %s: %v", id.path, err))
				continue
			}
			k.Close()
			return nil, fmt.Errorf("parse identity file %s: %w", id.path, err)
		}
		filePubs = append(filePubs, signer.PublicKey())
		k.signers = append(k.signers, signer)
		k.tried = append(k.tried, id.path)
	}
	var certKeys []ssh.PublicKey
	for _, c := range certs {
		certKeys = append(certKeys, c.cert.Key)
	}
	for _, s := range agentKeys {
		pub := s.PublicKey()
		if p := agentCertProblem(pub, now); p != "" {
			k.notes = append(k.notes, p)
			continue
		}
		if e.identitiesOnly && !containsKey(filePubs, certifiedKey(pub)) && !containsKey(certKeys, pub) {
			continue
		}
		if containsKey(signerKeys(k.signers), pub) {
			continue
		}
		k.signers = append(k.signers, s)
		what := "agent key "
		if certifiedKey(pub) != pub {
			what = "agent certificate for key "
		}
		k.tried = append(k.tried, what+ssh.FingerprintSHA256(certifiedKey(pub)))
	}
	var notes []string
	k.signers, k.tried, notes = withCerts(k.signers, k.tried, certs, filePubs)
	k.notes = append(append(certNotes, notes...), k.notes...)
	for _, p := range locked {
		k.notes = append(k.notes, fmt.Sprintf("identity file %s is passphrase-protected and not loaded in ssh-agent", p))
	}
	if len(k.signers) == 0 {
		k.Close()
		if len(locked) > 0 {
			hint := "load it into ssh-agent (ssh-add " + locked[0] + ") and make sure SSH_AUTH_SOCK is set"
			if sock != "" && k.agent != nil {
				hint = "load it into the running ssh-agent: ssh-add " + locked[0]
			}
			return nil, fmt.Errorf("identity file %s is passphrase-protected and plat cannot prompt for passphrases; hint: %s",
				strings.Join(locked, ", "), hint)
		}
		msg := "no SSH key to authenticate with"
		if len(k.notes) > 0 {
			msg += " (" + strings.Join(k.notes, "; ") + ")"
		}
		return nil, errors.New(msg + "; hint: set identity_file in the provider block, IdentityFile in ~/.ssh/config, or run ssh-agent")
	}
	return k, nil
}

func readPublicKey(path string) ssh.PublicKey {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil
	}
	return pub
}

// certifiedKey is the key a certificate certifies, or pub itself.
func certifiedKey(pub ssh.PublicKey) ssh.PublicKey {
	if !strings.Contains(pub.Type(), "-cert-") {
		return pub
	}
	if parsed, err := ssh.ParsePublicKey(pub.Marshal()); err == nil {
		if c, ok := parsed.(*ssh.Certificate); ok {
			return c.Key
		}
	}
	return pub
}

func signerKeys(ss []ssh.Signer) []ssh.PublicKey {
	out := make([]ssh.PublicKey, len(ss))
	for i, s := range ss {
		out[i] = s.PublicKey()
	}
	return out
}

func containsKey(keys []ssh.PublicKey, k ssh.PublicKey) bool {
	for _, x := range keys {
		if bytes.Equal(x.Marshal(), k.Marshal()) {
			return true
		}
	}
	return false
}
