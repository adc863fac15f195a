package release

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Kind is the type of a manifest entry.
type Kind byte

// Entry kinds. Private files are regular files that came from the private
// settings directory: mode 0600, names shown, contents never.
const (
	KindFile    Kind = 'f'
	KindPrivate Kind = 'p'
	KindDir     Kind = 'd'
	KindSymlink Kind = 'l'
)

// Entry is one path of a release tree.
type Entry struct {
	Path string // slash-separated, relative, no leading "./"
	Kind Kind
	Mode fs.FileMode // permission bits only
	Size int64
	// Hash is the hex SHA-256 of the content (files) or of the link target
	// (symlinks); "-" for directories.
	Hash string
	// Target is a symlink's target (not serialised: recovered from the
	// object store by Hash).
	Target string
}

// IsFile reports whether the entry is a regular file (public or private).
func (e Entry) IsFile() bool { return e.Kind == KindFile || e.Kind == KindPrivate }

// Manifest lists every path of a release, sorted by path. Its text form is
// stable, so its hash identifies the release content on every provider.
type Manifest struct {
	Entries []Entry
}

// Hash returns the SHA-256 of the manifest's text form.
func (m *Manifest) Hash() string {
	h := sha256.New()
	_ = m.Write(h)
	return hex.EncodeToString(h.Sum(nil))
}

// Write writes the text form: one line per entry,
// "<kind> <mode> <size> <hash> <path>".
func (m *Manifest) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, e := range m.Entries {
		bw.WriteString(e.Line())
	}
	return bw.Flush()
}

// Line is the entry's line in the text form, newline included.
func (e Entry) Line() string {
	return fmt.Sprintf("%c %04o %d %s %s\n", e.Kind, uint32(e.Mode.Perm()), e.Size, e.Hash, e.Path)
}

// Bytes returns the text form.
func (m *Manifest) Bytes() []byte {
	var b bytes.Buffer
	_ = m.Write(&b)
	return b.Bytes()
}

// Parse reads the text form.
func Parse(r io.Reader) (*Manifest, error) {
	m := &Manifest{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" {
			continue
		}
		f := strings.SplitN(line, " ", 5)
		if len(f) != 5 || len(f[0]) != 1 {
			return nil, fmt.Errorf("manifest line %d: malformed", n)
		}
		mode, err := strconv.ParseUint(f[1], 8, 32)
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: mode: %w", n, err)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: size: %w", n, err)
		}
		kind := Kind(f[0][0])
		switch kind {
		case KindFile, KindPrivate, KindDir, KindSymlink:
		default:
			return nil, fmt.Errorf("manifest line %d: unknown kind %q", n, f[0])
		}
		if size < 0 {
			return nil, fmt.Errorf("manifest line %d: negative size", n)
		}
		if err := CheckPath(f[4]); err != nil {
			return nil, fmt.Errorf("manifest line %d: %w", n, err)
		}
		if strings.ContainsAny(f[3], " /") || f[3] == "" || (kind != KindDir && !isHex(f[3])) {
			return nil, fmt.Errorf("manifest line %d: malformed hash %q", n, f[3])
		}
		m.Entries = append(m.Entries, Entry{Kind: kind, Mode: fs.FileMode(mode) & fs.ModePerm, Size: size, Hash: f[3], Path: f[4]})
	}
	return m, sc.Err()
}

// CheckPath reports whether p can name a path inside a release: relative,
// slash-separated, no empty, "." or ".." element, no NUL, newline or
// backslash. Manifests read from hosts are checked with it, so a host
// that lies cannot make plat remove or link anything outside the release.
func CheckPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	if strings.ContainsAny(p, "\x00\n\\") {
		return fmt.Errorf("path %q: NUL, newline and backslash are not allowed in release paths", p)
	}
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q is absolute", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("path %q leaves the release or is not clean", p)
		}
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Lookup returns the entry at path.
func (m *Manifest) Lookup(path string) (Entry, bool) {
	i := sort.Search(len(m.Entries), func(i int) bool { return m.Entries[i].Path >= path })
	if i < len(m.Entries) && m.Entries[i].Path == path {
		return m.Entries[i], true
	}
	return Entry{}, false
}

// Files returns the number of regular files and their total size.
func (m *Manifest) Files() (n int, size int64) {
	for _, e := range m.Entries {
		if e.IsFile() {
			n++
			size += e.Size
		}
	}
	return n, size
}

// ScanOptions tune Scan.
type ScanOptions struct {
	// Private lists paths (relative) that came from the private settings:
	// they are recorded as KindPrivate with mode 0600.
	Private map[string]bool
	// Skip reports paths to leave out (relative, slash-separated).
	Skip func(path string, d fs.DirEntry) bool
}

// Scan walks dir and hashes every file, in parallel. Modes are normalised:
// files are 0644 or 0755 (executable by owner), private files 0600,
// directories 0755, so the same source gives the same manifest anywhere.
func Scan(dir string, opts ScanOptions) (*Manifest, error) {
	var entries []Entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if strings.ContainsAny(rel, "\n\\") {
			return fmt.Errorf("path %q: newlines and backslashes are not supported in release paths", rel)
		}
		if opts.Skip != nil && opts.Skip(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := Entry{Path: rel}
		switch {
		case d.IsDir():
			e.Kind, e.Mode, e.Hash = KindDir, 0o755, "-"
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256([]byte(target))
			e.Kind, e.Mode, e.Size, e.Hash, e.Target = KindSymlink, 0o777, int64(len(target)), hex.EncodeToString(sum[:]), target
		case info.Mode().IsRegular():
			e.Kind, e.Mode, e.Size = KindFile, 0o644, info.Size()
			if info.Mode()&0o100 != 0 {
				e.Mode = 0o755
			}
			if opts.Private[rel] {
				e.Kind, e.Mode = KindPrivate, 0o600
			}
		default:
			return nil // sockets, fifos, devices: not release content
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	if err := hashFiles(dir, entries); err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return &Manifest{Entries: entries}, nil
}

// hashFiles fills Hash for regular files using all cores.
func hashFiles(dir string, entries []Entry) error {
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	n := runtime.GOMAXPROCS(0)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256*1024)
			for i := range work {
				sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(entries[i].Path)), buf)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				entries[i].Hash = sum
			}
		}()
	}
	for i := range entries {
		if entries[i].IsFile() {
			work <- i
		}
	}
	close(work)
	wg.Wait()
	return first
}

func hashFile(path string, buf []byte) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	// Only the reader: *os.File's WriteTo would ignore buf and allocate
	// a new 32 KiB buffer for every file.
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Change is one difference between two manifests.
type Change struct {
	Path string
	// Op is "added", "changed" or "removed".
	Op      string
	Private bool
	// Secret marks a secret (Path is its name) whose digest differs; its
	// value is never part of a diff.
	Secret bool `json:",omitempty"`
}

// Diff lists what changed from old to new, by path.
func Diff(old, new *Manifest) []Change {
	var out []Change
	i, j := 0, 0
	for i < len(old.Entries) || j < len(new.Entries) {
		switch {
		case j >= len(new.Entries) || (i < len(old.Entries) && old.Entries[i].Path < new.Entries[j].Path):
			o := old.Entries[i]
			if o.Kind != KindDir {
				out = append(out, Change{Path: o.Path, Op: "removed", Private: o.Kind == KindPrivate})
			}
			i++
		case i >= len(old.Entries) || new.Entries[j].Path < old.Entries[i].Path:
			n := new.Entries[j]
			if n.Kind != KindDir {
				out = append(out, Change{Path: n.Path, Op: "added", Private: n.Kind == KindPrivate})
			}
			j++
		default:
			o, n := old.Entries[i], new.Entries[j]
			if o.Kind != n.Kind || o.Mode != n.Mode || o.Hash != n.Hash {
				out = append(out, Change{Path: n.Path, Op: "changed", Private: n.Kind == KindPrivate || o.Kind == KindPrivate})
			}
			i++
			j++
		}
	}
	return out
}

// Listing is the verification digest input: one line per regular file and
// symlink, "f <mode> <size> ./<path>", sorted bytewise, exactly as the host
// side prints it with find and stat (see hostcmd). Comparing digests
// verifies a whole release tree in one round trip.
func (m *Manifest) Listing() []byte {
	var b bytes.Buffer
	for _, l := range m.listingLines() {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func (m *Manifest) listingLines() []string {
	lines := make([]string, 0, len(m.Entries))
	for _, e := range m.Entries {
		switch {
		case e.IsFile():
			lines = append(lines, fmt.Sprintf("f %o %d ./%s", uint32(e.Mode.Perm()), e.Size, e.Path))
		case e.Kind == KindSymlink:
			lines = append(lines, fmt.Sprintf("l 777 %d ./%s", e.Size, e.Path))
		}
	}
	sort.Strings(lines)
	return lines
}

// ListingDigest is the hex SHA-256 of Listing, hashed as the sorted
// lines are made (no copy of the whole listing).
func (m *Manifest) ListingDigest() string {
	lines := m.listingLines()
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256Sums returns the files in sha256sum(1) check format.
func (m *Manifest) SHA256Sums(filter func(Entry) bool) []byte {
	var b bytes.Buffer
	for _, e := range m.Entries {
		if e.IsFile() && (filter == nil || filter(e)) {
			fmt.Fprintf(&b, "%s  ./%s\n", e.Hash, e.Path)
		}
	}
	return b.Bytes()
}
