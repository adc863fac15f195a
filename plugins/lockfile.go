package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/plat-sh/plat/platform/atomicfile"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// LockFileName is the lock file's name inside the project's .plat directory.
const LockFileName = "plugins.lock.hcl"

// Errors Verify wraps.
var (
	ErrNotLocked        = errors.New("plugin is not in the lock file")
	ErrChecksumMismatch = errors.New("plugin binary changed since it was locked")
)

// LockEntry pins one plugin binary.
type LockEntry struct {
	Name    string
	Version string
	// Path is the binary, relative to the lock file's directory when it
	// lives under it, else absolute.
	Path string
	// Checksum is "sha256:<hex>" of the binary.
	Checksum string
}

type lockFileHCL struct {
	Plugins []lockEntryHCL `hcl:"plugin,block"`
	Remain  hcl.Body       `hcl:",remain"`
}

type lockEntryHCL struct {
	Name     string `hcl:"name,label"`
	Version  string `hcl:"version,optional"`
	Path     string `hcl:"path,optional"`
	Checksum string `hcl:"checksum"`
}

// LockFileFor returns the lock file that goes with a plugin directory:
// .plat/plugins -> .plat/plugins.lock.hcl.
func LockFileFor(pluginDir string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(pluginDir)), LockFileName)
}

// Checksum returns "sha256:<hex>" of the file at path.
func Checksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checksum plugin: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum plugin %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// ReadLockFile returns the entries of a lock file, sorted by name. A
// missing file has no entries.
func ReadLockFile(path string) ([]LockEntry, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock file: %w", err)
	}
	f, diags := hclparse.NewParser().ParseHCL(src, path)
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse lock file: %w", diags)
	}
	var lf lockFileHCL
	if diags := gohcl.DecodeBody(f.Body, nil, &lf); diags.HasErrors() {
		return nil, fmt.Errorf("decode lock file: %w", diags)
	}
	var out []LockEntry
	for _, p := range lf.Plugins {
		out = append(out, LockEntry{Name: p.Name, Version: p.Version, Path: p.Path, Checksum: p.Checksum})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// WriteLockFile replaces the lock file with entries (sorted by name),
// atomically.
func WriteLockFile(path string, entries []LockEntry) error {
	entries = append([]LockEntry(nil), entries...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(hclwrite.Tokens{{
		Type: hclsyntax.TokenComment, Bytes: []byte("# This file is maintained by plat (plat plugins install, plat plugins lock).\n" +
			"# It pins each provider plugin binary by checksum: commit it.\n"),
	}})
	for _, e := range entries {
		body.AppendNewline()
		b := body.AppendNewBlock("plugin", []string{e.Name}).Body()
		b.SetAttributeValue("version", cty.StringVal(e.Version))
		b.SetAttributeValue("path", cty.StringVal(e.Path))
		b.SetAttributeValue("checksum", cty.StringVal(e.Checksum))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if err := atomicfile.Write(path, hclwrite.Format(f.Bytes()), 0o644); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// Lock records the plugin binary at path in the lock file (adding or
// replacing its entry). It starts the plugin once to check the handshake
// and ask its version.
func Lock(ctx context.Context, lockfile, path string) (*LockEntry, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("lock plugin %s: %w", path, err)
	}
	c, err := Open(ctx, abs, Options{})
	if err != nil {
		return nil, fmt.Errorf("lock plugin: %w", err)
	}
	version := c.Version()
	c.Close()
	return lockEntry(lockfile, abs, version)
}

// lockEntry writes the entry of the binary at abs, with a known version.
func lockEntry(lockfile, abs, version string) (*LockEntry, error) {
	sum, err := Checksum(abs)
	if err != nil {
		return nil, err
	}
	entries, err := ReadLockFile(lockfile)
	if err != nil {
		return nil, err
	}
	e := LockEntry{Name: NameOf(abs), Version: version, Path: lockPath(lockfile, abs), Checksum: sum}
	replaced := false
	for i := range entries {
		if entries[i].Name == e.Name {
			entries[i], replaced = e, true
		}
	}
	if !replaced {
		entries = append(entries, e)
	}
	if err := WriteLockFile(lockfile, entries); err != nil {
		return nil, err
	}
	return &e, nil
}

// lockPath is abs relative to the lock file's directory when under it.
func lockPath(lockfile, abs string) string {
	dir, err := filepath.Abs(filepath.Dir(lockfile))
	if err != nil {
		return abs
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return abs
	}
	return rel
}

// Verify checks the plugin binary at path against its lock file entry (by
// provider name). It refuses a binary that is not locked (ErrNotLocked) or
// whose checksum changed (ErrChecksumMismatch), saying how to re-lock it.
func Verify(lockfile, path string) error {
	name := NameOf(path)
	entries, err := ReadLockFile(lockfile)
	if err != nil {
		return err
	}
	var want *LockEntry
	for i := range entries {
		if entries[i].Name == name {
			want = &entries[i]
		}
	}
	if want == nil {
		return fmt.Errorf("plugin %s (%s): %w %s\nhint: if you trust it, lock it: plat plugins lock %s",
			name, path, ErrNotLocked, lockfile, name)
	}
	got, err := Checksum(path)
	if err != nil {
		return err
	}
	if got != want.Checksum {
		return fmt.Errorf("plugin %s (%s): refusing to run it: %w (checksum %s, lock file %s records %s)\n"+
			"hint: if you trust the new binary, re-lock it: plat plugins install SRC, or plat plugins lock %s",
			name, path, ErrChecksumMismatch, got, lockfile, want.Checksum, name)
	}
	return nil
}
