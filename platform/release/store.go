package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Release is an immutable, recorded build of the app for one environment.
type Release struct {
	ID      string    `json:"id"` // r1, r2, …: monotonic per environment
	Env     string    `json:"env"`
	App     string    `json:"app"`
	GitSHA  string    `json:"git_sha,omitempty"`
	GitRef  string    `json:"git_ref,omitempty"`
	Author  string    `json:"author,omitempty"` // who wrote the commit
	Pusher  string    `json:"pusher"`           // user@machine who pushed
	Time    time.Time `json:"time"`
	Message string    `json:"message,omitempty"`
	// ManifestHash identifies the content: the same build pushed to two
	// environments has the same hash.
	ManifestHash string            `json:"manifest_hash"`
	Buildpacks   []string          `json:"buildpacks,omitempty"`
	Processes    map[string]string `json:"processes,omitempty"`
	ConfigHash   string            `json:"config_hash,omitempty"`
	// SourceKey identifies the build's inputs (commit, buildpacks, build
	// tasks, config, private settings): a push whose inputs match the
	// release every host runs has nothing to do, without building.
	SourceKey string `json:"source_key,omitempty"`
	// Secrets are the digests of the secret values (name → HMAC-SHA256 of
	// name and value, keyed from the store's age identity): they show that
	// a secret changed without revealing it, even a short one.
	Secrets map[string]string `json:"secrets,omitempty"`
	Files   int               `json:"files"`
	Size    int64             `json:"size"`
	// PromotedFrom is the release whose build output this one carries
	// (plat promote), nil for a release built by its push.
	PromotedFrom *Promotion `json:"promoted_from,omitempty"`
}

// Num returns the numeric part of a release id ("r42" → 42), or 0.
func Num(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "r"))
	if err != nil {
		return 0
	}
	return n
}

// ValidID reports whether id is a release id plat makes: "r" and a
// decimal number without leading zeros. Ids read from hosts (the current
// link, release dirs, history) are checked with it before plat uses them
// in a path, so "../x" or "/etc" never reaches a host command. At most
// nine digits: a hostile "r9223372036854775807" would make the next id
// overflow.
func ValidID(id string) bool {
	if len(id) < 2 || len(id) > 10 || id[0] != 'r' || id[1] == '0' {
		return false
	}
	for i := 1; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// ID formats a release number.
func ID(n int) string { return "r" + strconv.Itoa(n) }

// SortIDs sorts release ids by number.
func SortIDs(ids []string) {
	sort.Slice(ids, func(i, j int) bool { return Num(ids[i]) < Num(ids[j]) })
}

// Store keeps releases on the machine that runs plat: content-addressed
// objects shared by every release and environment, and per environment one
// metadata file and one manifest per release.
//
//	<root>/objects/ab/cdef…        file contents by SHA-256 (0600, dirs 0700)
//	<root>/envs/<env>/<id>.json    release metadata
//	<root>/envs/<env>/<id>.manifest
//	<root>/objects/ab/cdef….age    private file contents, age-encrypted
//	<root>/envs/<env>/<id>.secrets.age  the release's secret values, age-encrypted
//
// Private content and secret values are encrypted to Keys (an age
// identity outside the project) and decrypted only to upload. Stores
// written before that hold private content in plain objects: those are
// still read, and encrypted (the plain copy removed) when a release with
// that content is stored again.
//
// The design sketch suggests a git repository; content addressing by
// SHA-256 gives the same deduplication without zlib-compressing every
// object on the push path, and rollbacks and diffs only need manifests.
// Hosts hold the truth for history; the store is the cache that makes
// rollbacks to pruned releases and diffs possible. Recording is idempotent,
// and nothing is ever rewritten.
type Store struct {
	Root string
	// Keys encrypts private content and secrets; nil means the keyring at
	// DefaultIdentityPath, opened on first use.
	Keys *Keyring
}

func (s *Store) keys() *Keyring {
	if s.Keys == nil {
		s.Keys = NewKeyring("")
	}
	return s.Keys
}

// ErrNotFound is returned for an unknown release.
var ErrNotFound = errors.New("release not found")

func (s *Store) envDir(env string) string { return filepath.Join(s.Root, "envs", env) }

// ObjectPath is where the content with hash h lives.
func (s *Store) ObjectPath(h string) string {
	return filepath.Join(s.Root, "objects", h[:2], h[2:])
}

// HasObject reports whether the store holds content h (plain or encrypted).
func (s *Store) HasObject(h string) bool {
	if _, err := os.Stat(s.ObjectPath(h)); err == nil {
		return true
	}
	_, err := os.Stat(s.ObjectPath(h) + ".age")
	return err == nil
}

// addPrivate stores private content encrypted; a plain copy left by an
// older store is replaced.
func (s *Store) addPrivate(src, h string) error {
	dst := s.ObjectPath(h)
	if _, err := os.Stat(dst + ".age"); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	enc, err := s.keys().Encrypt(b)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(dst+".age", enc, 0o600); err != nil {
		return err
	}
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// AddTree stores the content of every file and symlink target of m, read
// from dir. Content already stored is skipped; new content is copied.
func (s *Store) AddTree(dir string, m *Manifest) error {
	for _, e := range m.Entries {
		if e.Kind == KindPrivate {
			if err := s.addPrivate(filepath.Join(dir, filepath.FromSlash(e.Path)), e.Hash); err != nil {
				return fmt.Errorf("store %s: %w", e.Path, err)
			}
			continue
		}
		if e.Kind == KindDir || s.HasObject(e.Hash) {
			continue
		}
		dst := s.ObjectPath(e.Hash)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if e.Kind == KindSymlink {
			if err := writeFileAtomic(dst, []byte(e.Target), 0o600); err != nil {
				return err
			}
			continue
		}
		src := filepath.Join(dir, filepath.FromSlash(e.Path))
		if err := copyFileAtomic(src, dst); err != nil {
			return fmt.Errorf("store %s: %w", e.Path, err)
		}
	}
	return nil
}

// Open opens stored content, decrypting encrypted content.
func (s *Store) Open(h string) (io.ReadCloser, error) {
	f, err := os.Open(s.ObjectPath(h) + ".age")
	if errors.Is(err, fs.ErrNotExist) {
		return os.Open(s.ObjectPath(h))
	}
	if err != nil {
		return nil, err
	}
	r, err := s.keys().Decrypt(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// RecordSecrets keeps a release's secret values (name → value), encrypted,
// for a resumed push or a rollback that must upload the release again.
func (s *Store) RecordSecrets(env, id string, values map[string]string) error {
	if len(values) == 0 {
		return nil
	}
	dir := s.envDir(env)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(values)
	if err != nil {
		return err
	}
	enc, err := s.keys().Encrypt(b)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, id+".secrets.age"), enc, 0o600)
}

// Secrets returns the secret values recorded for a release (nil if none).
func (s *Store) Secrets(env, id string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(s.envDir(env), id+".secrets.age"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := s.keys().Decrypt(f)
	if err != nil {
		return nil, fmt.Errorf("secrets of %s/%s: %w", env, id, err)
	}
	var out map[string]string
	if err := json.NewDecoder(r).Decode(&out); err != nil {
		return nil, fmt.Errorf("secrets of %s/%s: %w", env, id, err)
	}
	return out, nil
}

// ReadLink returns a stored symlink target.
func (s *Store) ReadLink(h string) (string, error) {
	b, err := os.ReadFile(s.ObjectPath(h))
	return string(b), err
}

// Record writes a release's metadata and manifest. Recording the same id
// twice with different content is an error: releases are immutable.
func (s *Store) Record(r *Release, m *Manifest) error {
	dir := s.envDir(r.Env)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if old, err := s.Get(r.Env, r.ID); err == nil {
		if old.ManifestHash != r.ManifestHash {
			return fmt.Errorf("record release %s/%s: already recorded with other content", r.Env, r.ID)
		}
		return nil
	}
	// Written as it is formatted: a 100,000-file manifest is 11 MB of text.
	if err := writeAtomic(filepath.Join(dir, r.ID+".manifest"), 0o600, m.Write); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	return writeFileAtomic(filepath.Join(dir, r.ID+".json"), append(b, '\n'), 0o600)
}

// Get returns a release's metadata.
func (s *Store) Get(env, id string) (*Release, error) {
	b, err := os.ReadFile(filepath.Join(s.envDir(env), id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s/%s: %w", env, id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var r Release
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read release %s/%s: %w", env, id, err)
	}
	return &r, nil
}

// Manifest returns a release's manifest.
func (s *Store) Manifest(env, id string) (*Manifest, error) {
	f, err := os.Open(filepath.Join(s.envDir(env), id+".manifest"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s/%s: %w", env, id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := Parse(f)
	if err != nil {
		return nil, err
	}
	// Recover symlink targets from the objects.
	for i, e := range m.Entries {
		if e.Kind == KindSymlink {
			if t, err := s.ReadLink(e.Hash); err == nil {
				m.Entries[i].Target = t
			}
		}
	}
	return m, nil
}

// List returns an environment's releases, oldest first.
func (s *Store) List(env string) ([]*Release, error) {
	ents, err := os.ReadDir(s.envDir(env))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Release
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		r, err := s.Get(env, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return Num(out[i].ID) < Num(out[j].ID) })
	return out, nil
}

// Latest returns the highest release number recorded for env (0 if none).
func (s *Store) Latest(env string) int {
	rs, _ := s.List(env)
	if len(rs) == 0 {
		return 0
	}
	return Num(rs[len(rs)-1].ID)
}

func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	return writeAtomic(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic writes path through a temp file renamed into place.
func writeAtomic(path string, mode fs.FileMode, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func copyFileAtomic(src, dst string) error {
	// Always a copy, never a hard link: the build tree is a checkout kept
	// between pushes, and a build step that rewrote a file in place would
	// otherwise change a recorded release's content.
	tmp := dst + ".tmp"
	_ = os.Remove(tmp)
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
