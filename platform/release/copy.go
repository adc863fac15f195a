package release

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CopyRelease copies release env/id from s to dst: the objects its
// manifest names (as they are stored: private content stays
// age-encrypted, never decrypted on the way), then its secrets (already
// encrypted), manifest and metadata, the metadata last so that a reader
// of dst never sees a release whose content is not all there. What dst
// already has is skipped; it returns how many objects it copied. A
// release dst holds with other content is an error: releases are
// immutable.
//
// Both stores share one layout, so this is how a push writes the team's
// store and how a pusher with an empty .plat/store fills it from there.
func (s *Store) CopyRelease(dst *Store, env, id string) (int, error) {
	rel, err := s.Get(env, id)
	if err != nil {
		return 0, err
	}
	if old, err := dst.Get(env, id); err == nil {
		if old.ManifestHash != rel.ManifestHash {
			return 0, fmt.Errorf("%s holds another release %s/%s (content %s, not %s): releases are immutable", dst.Root, env, id, short(old.ManifestHash), short(rel.ManifestHash))
		}
	} else if !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	man, err := s.Manifest(env, id)
	if err != nil {
		return 0, err
	}
	copied := 0
	seen := map[string]bool{}
	for _, e := range man.Entries {
		if e.Kind == KindDir || seen[e.Hash] {
			continue
		}
		seen[e.Hash] = true
		if e.Kind == KindPrivate {
			// Private content is copied only encrypted.
			if _, err := os.Stat(dst.ObjectPath(e.Hash) + ".age"); err == nil {
				continue
			}
			src := s.ObjectPath(e.Hash) + ".age"
			if _, err := os.Stat(src); err != nil {
				return copied, fmt.Errorf("private content of %s in %s/%s is not stored encrypted in %s (push once more to encrypt it): %w", e.Path, env, id, s.Root, err)
			}
			if err := copyInto(src, dst.ObjectPath(e.Hash)+".age"); err != nil {
				return copied, err
			}
			copied++
			continue
		}
		if dst.HasObject(e.Hash) {
			continue
		}
		src := s.ObjectPath(e.Hash)
		name := dst.ObjectPath(e.Hash)
		if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
			// Content that is also private somewhere is kept encrypted.
			src, name = src+".age", name+".age"
		}
		if err := copyInto(src, name); err != nil {
			return copied, fmt.Errorf("copy %s of %s/%s: %w", e.Path, env, id, err)
		}
		copied++
	}
	dir := filepath.Join(dst.Root, "envs", env)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return copied, err
	}
	for _, name := range []string{id + ".secrets.age", id + ".manifest", id + ".json"} {
		src := filepath.Join(s.envDir(env), name)
		if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) && name == id+".secrets.age" {
			continue
		}
		if err := copyInto(src, filepath.Join(dir, name)); err != nil {
			return copied, err
		}
	}
	return copied, nil
}

// copyInto copies a stored file to dst (0600, through a temp file of its
// own renamed into place: two pushers may copy the same object at once),
// making its directory.
func copyInto(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeAtomic(dst, 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// ReleaseFiles lists the files, relative to the store's root, that make
// up release env/id as this store holds it, in the order a copy writes
// them: content objects (private ones encrypted), then the secrets, the
// manifest and the metadata.
func (s *Store) ReleaseFiles(env, id string) ([]string, error) {
	if _, err := s.Get(env, id); err != nil {
		return nil, err
	}
	man, err := s.Manifest(env, id)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range man.Entries {
		if e.Kind == KindDir || seen[e.Hash] {
			continue
		}
		seen[e.Hash] = true
		rel := filepath.ToSlash(filepath.Join("objects", e.Hash[:2], e.Hash[2:]))
		if _, err := os.Stat(s.ObjectPath(e.Hash)); e.Kind == KindPrivate || errors.Is(err, fs.ErrNotExist) {
			if _, err := os.Stat(s.ObjectPath(e.Hash) + ".age"); err != nil {
				return nil, fmt.Errorf("%s of %s/%s: %w", e.Path, env, id, err)
			}
			rel += ".age"
		}
		out = append(out, rel)
	}
	if _, err := os.Stat(filepath.Join(s.envDir(env), id+".secrets.age")); err == nil {
		out = append(out, "envs/"+env+"/"+id+".secrets.age")
	}
	return append(out, "envs/"+env+"/"+id+".manifest", "envs/"+env+"/"+id+".json"), nil
}

// ObjectFiles lists the object files m's content may be stored as, for
// the content this store lacks: private content encrypted, other content
// plain or (when it is also private somewhere) encrypted.
func (s *Store) ObjectFiles(m *Manifest) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range m.Entries {
		if e.Kind == KindDir || seen[e.Hash] || s.HasObject(e.Hash) {
			continue
		}
		seen[e.Hash] = true
		rel := "objects/" + e.Hash[:2] + "/" + e.Hash[2:]
		if e.Kind != KindPrivate {
			out = append(out, rel)
		}
		out = append(out, rel+".age")
	}
	return out
}

// ValidFile reports whether rel names a file of a store's layout:
// objects/xx/<hash>[.age] or envs/<env>/<id>.{json,manifest,secrets.age}.
func ValidFile(rel string) bool {
	parts := strings.Split(rel, "/")
	switch {
	case len(parts) == 3 && parts[0] == "objects":
		h := strings.TrimSuffix(parts[2], ".age")
		return len(parts[1]) == 2 && isHex(parts[1]+h) && len(parts[1])+len(h) == 64
	case len(parts) == 3 && parts[0] == "envs":
		if parts[1] == "" || strings.HasPrefix(parts[1], ".") || strings.ContainsAny(parts[1], "\\\x00\n") {
			return false
		}
		for _, ext := range []string{".json", ".manifest", ".secrets.age"} {
			if id, ok := strings.CutSuffix(parts[2], ext); ok && ValidID(id) {
				return true
			}
		}
	}
	return false
}

// Import writes a file of the store's layout (ValidFile) from r: 0600,
// through a temp file renamed into place.
func (s *Store) Import(rel string, r io.Reader) error {
	if !ValidFile(rel) {
		return fmt.Errorf("%q is not a file of a release store", rel)
	}
	dst := filepath.Join(s.Root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return writeAtomic(dst, 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}
