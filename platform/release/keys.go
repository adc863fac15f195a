package release

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
)

// IdentityEnv overrides where the local store's age identity lives.
const IdentityEnv = "PLAT_AGE_IDENTITY"

// DefaultIdentityPath is $PLAT_AGE_IDENTITY, or plat/age/identity under
// the user's configuration directory (~/.config on Linux): outside every
// project, so neither a commit nor a copy of .plat carries the key.
func DefaultIdentityPath() string {
	if p := os.Getenv(IdentityEnv); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = filepath.Join(os.TempDir(), "plat-"+fmt.Sprint(os.Getuid()))
	}
	return filepath.Join(dir, "plat", "age", "identity")
}

// Keyring encrypts what the local store keeps of private files and secret
// values with an age X25519 identity, created (0600) on first use. The
// file has age-keygen's format, so `age -d -i FILE` reads the store too,
// and a team shares it like any age key.
type Keyring struct {
	Path string

	once sync.Once
	ids  []age.Identity
	rcpt age.Recipient
	key  []byte
	err  error
}

// NewKeyring returns a keyring for the identity at path ("" = default).
func NewKeyring(path string) *Keyring {
	if path == "" {
		path = DefaultIdentityPath()
	}
	return &Keyring{Path: path}
}

func (k *Keyring) load() error {
	k.once.Do(func() { k.err = k.loadOnce() })
	return k.err
}

func (k *Keyring) loadOnce() error {
	b, err := os.ReadFile(k.Path)
	if errors.Is(err, fs.ErrNotExist) {
		id, gerr := age.GenerateX25519Identity()
		if gerr != nil {
			return gerr
		}
		if err := os.MkdirAll(filepath.Dir(k.Path), 0o700); err != nil {
			return fmt.Errorf("age identity: %w", err)
		}
		text := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
		f, err := os.OpenFile(k.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("create age identity %s: %w", k.Path, err)
		}
		if _, err := f.WriteString(text); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		b = []byte(text)
	} else if err != nil {
		return fmt.Errorf("age identity: %w", err)
	} else if st, err := os.Stat(k.Path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("age identity %s has mode %04o: others can read the key to the local store; run chmod 600 %s", k.Path, st.Mode().Perm(), k.Path)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("age identity %s: %w", k.Path, err)
	}
	x, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return fmt.Errorf("age identity %s: the first key must be an X25519 identity (AGE-SECRET-KEY-1…)", k.Path)
	}
	k.ids, k.rcpt = ids, x.Recipient()
	sum := sha256.Sum256([]byte("plat secret digest key 1\n" + strings.TrimSpace(x.String())))
	k.key = sum[:]
	return nil
}

// Recipient is the public key the store encrypts to.
func (k *Keyring) Recipient() (string, error) {
	if err := k.load(); err != nil {
		return "", err
	}
	return fmt.Sprint(k.rcpt), nil
}

// Encrypt returns plain encrypted to the identity.
func (k *Keyring) Encrypt(plain []byte) ([]byte, error) {
	if err := k.load(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, k.rcpt)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decrypt returns a reader of r's plaintext.
func (k *Keyring) Decrypt(r io.Reader) (io.Reader, error) {
	if err := k.load(); err != nil {
		return nil, err
	}
	out, err := age.Decrypt(r, k.ids...)
	if err != nil {
		return nil, fmt.Errorf("decrypt with %s: %w (is it the identity the store was written with?)", k.Path, err)
	}
	return out, nil
}

// DigestKey is the HMAC key of secret digests: derived from the identity,
// so digests recorded in releases (which hosts hold) cannot be checked
// against guessed values without the key, and pushers sharing the
// identity compute the same digests.
func (k *Keyring) DigestKey() ([]byte, error) {
	if err := k.load(); err != nil {
		return nil, err
	}
	return k.key, nil
}
