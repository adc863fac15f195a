package release

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Plan is what one host needs to turn its base release into a new one.
type Plan struct {
	// Base is the host's current release id ("" for an empty host).
	Base string
	// Remove are paths (relative) to delete from the hard-linked copy of
	// the base before extraction: gone, changed type/mode, or shared links.
	Remove []string
	// Links are paths whose content the base has under another path:
	// hard-linked on the host instead of sent ([0] base path, [1] new path).
	Links [][2]string
	// Send are the entries whose content crosses the wire.
	Send []Entry
	// Dirs are directories to create (sent as tar entries).
	Dirs []Entry
	// SendBytes is the uncompressed content size of Send.
	SendBytes int64
}

// Unchanged reports whether the plan sends no file content.
func (p *Plan) Unchanged() bool { return len(p.Send) == 0 }

// PlanUpload computes what a host whose current release has manifest base
// (nil for none) must receive to hold next. Content the base already has
// at the same path with the same mode stays as a hard link (cp -al);
// content it has elsewhere is linked; the rest is sent.
func PlanUpload(baseID string, base, next *Manifest, alwaysRemove []string) *Plan {
	p := &Plan{Base: baseID}
	if base == nil {
		base = &Manifest{}
		p.Base = ""
	}
	byHash := map[string]string{}
	for _, e := range base.Entries {
		if e.IsFile() {
			key := e.Hash + " " + e.Mode.String()
			if _, ok := byHash[key]; !ok {
				byHash[key] = e.Path
			}
		}
	}
	nextPaths := make(map[string]Entry, len(next.Entries))
	for _, e := range next.Entries {
		nextPaths[e.Path] = e
	}
	removed := map[string]bool{}
	for _, e := range base.Entries {
		n, ok := nextPaths[e.Path]
		if !ok || n.Kind != e.Kind || n.Mode != e.Mode || n.Hash != e.Hash {
			if e.Kind == KindDir && ok && n.Kind == KindDir {
				continue
			}
			if !underRemoved(e.Path, removed) {
				p.Remove = append(p.Remove, e.Path)
				removed[e.Path] = true
			}
		}
	}
	for _, r := range alwaysRemove {
		if !removed[r] {
			p.Remove = append(p.Remove, r)
			removed[r] = true
		}
	}
	for _, e := range next.Entries {
		b, ok := base.Lookup(e.Path)
		same := ok && b.Kind == e.Kind && b.Mode == e.Mode && b.Hash == e.Hash && !underRemoved(e.Path, removed)
		switch {
		case e.Kind == KindDir:
			if !same {
				p.Dirs = append(p.Dirs, e)
			}
		case same:
		case e.IsFile():
			if src, ok := byHash[e.Hash+" "+e.Mode.String()]; ok {
				p.Links = append(p.Links, [2]string{src, e.Path})
				continue
			}
			p.Send = append(p.Send, e)
			p.SendBytes += e.Size
		default: // symlinks are tiny: always sent when they differ
			p.Send = append(p.Send, e)
		}
	}
	return p
}

// underRemoved reports whether p or one of its parents is being removed.
func underRemoved(p string, removed map[string]bool) bool {
	for {
		if removed[p] {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// Extra is a file of release metadata written under .plat/ in the release.
type Extra struct {
	Name string // e.g. "manifest"
	Data []byte
	Mode int64
}

// WriteStream writes the gzip-compressed tar a host extracts into its new
// release directory: directories, the content to send (read from the
// store and checked against its hash), symlinks, and the metadata files
// under .plat/. Times are fixed so the same plan always gives the same
// bytes.
func WriteStream(w io.Writer, st *Store, p *Plan, extras []Extra, level int) error {
	return WriteStreamCounted(w, st, p, extras, level, nil)
}

// WriteStreamCounted is WriteStream that adds to content, as it goes, the
// bytes of file content written into the stream (before compression): at
// the end it holds p.SendBytes. An upload's progress compares it with
// the compressed bytes the host has read.
func WriteStreamCounted(w io.Writer, st *Store, p *Plan, extras []Extra, level int, content *atomic.Int64) (err error) {
	gz, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	epoch := time.Unix(0, 0)
	hdr := func(name string, typ byte, mode int64, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: size, ModTime: epoch, Format: tar.FormatPAX, Uname: "", Gname: ""}
	}
	dirs := append([]Entry(nil), p.Dirs...)
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].Path < dirs[j].Path })
	for _, d := range dirs {
		if err := tw.WriteHeader(hdr(d.Path+"/", tar.TypeDir, 0o755, 0)); err != nil {
			return err
		}
	}
	buf := make([]byte, 256*1024)
	for _, e := range p.Send {
		if e.Kind == KindSymlink {
			target, err := st.ReadLink(e.Hash)
			if err != nil {
				return fmt.Errorf("read stored link %s: %w", e.Path, err)
			}
			h := hdr(e.Path, tar.TypeSymlink, 0o777, 0)
			h.Linkname = target
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		f, err := st.Open(e.Hash)
		if err != nil {
			return fmt.Errorf("read stored content of %s: %w", e.Path, err)
		}
		if err := tw.WriteHeader(hdr(e.Path, tar.TypeReg, int64(e.Mode.Perm()), e.Size)); err != nil {
			f.Close()
			return err
		}
		// Hash what is sent: the content is checked once here against
		// the manifest, instead of by every host after extraction (the
		// transport and gzip's CRC protect it on the way).
		h := sha256.New()
		var dst io.Writer = io.MultiWriter(tw, h)
		if content != nil {
			dst = io.MultiWriter(tw, h, counter{content})
		}
		_, err = io.CopyBuffer(dst, io.LimitReader(f, e.Size), buf)
		f.Close()
		if err != nil {
			return fmt.Errorf("stream %s: %w", e.Path, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != e.Hash {
			return fmt.Errorf("stream %s: stored content has hash %s, the manifest says %s (the local store is damaged: remove its objects and push again)", e.Path, got, e.Hash)
		}
	}
	if err := tw.WriteHeader(hdr(".plat/", tar.TypeDir, 0o755, 0)); err != nil {
		return err
	}
	for _, x := range extras {
		mode := x.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(hdr(".plat/"+x.Name, tar.TypeReg, mode, int64(len(x.Data)))); err != nil {
			return err
		}
		if _, err := tw.Write(x.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// counter adds the length of each write to n.
type counter struct{ n *atomic.Int64 }

func (c counter) Write(b []byte) (int, error) {
	c.n.Add(int64(len(b)))
	return len(b), nil
}
