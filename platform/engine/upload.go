package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/platform/release"
)

// uploader sends one release to many hosts. Hosts whose current release is
// the same get the same plan, so its compressed stream is made once (into
// a temporary file) and read by each of them: a cold push to N hosts
// compresses the release once. Hosts read the stream while it is being
// written, so extraction on the hosts overlaps compression here.
type uploader struct {
	e   *Engine
	rel *release.Release
	man *release.Manifest
	// secrets are installed next to the release (hostcmd.WriteSecrets).
	secrets map[string]string

	mu      sync.Mutex
	streams map[string]*streamFile
	// listing is the digest of man's Listing, computed once per push.
	listing string
	dir     string
	writers sync.WaitGroup
}

// streamFile is a compressed stream being written to a file; readers
// follow the writer.
type streamFile struct {
	path string
	mu   sync.Mutex
	cond *sync.Cond
	size int64 // bytes written so far
	done bool
	err  error // the writer's error
	// content counts the file content (uncompressed) put into the
	// stream; marks map stream offsets to it, so a reader's offset tells
	// how much of the plan's content has reached its host.
	content atomic.Int64
	marks   []streamMark
}

// streamMark says that the first wire bytes of the stream carry at least
// content bytes of file content.
type streamMark struct{ wire, content int64 }

// contentAt returns the file content carried by the first off bytes of
// the stream.
func (sf *streamFile) contentAt(off int64) int64 {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	i := sort.Search(len(sf.marks), func(i int) bool { return sf.marks[i].wire > off })
	if i == 0 {
		return 0
	}
	return sf.marks[i-1].content
}

// grew records n more bytes written (and the end of the stream, or the
// writer's error) and wakes the readers.
func (sf *streamFile) grew(n int64, done bool, err error) {
	sf.mu.Lock()
	sf.size += n
	if c := sf.content.Load(); len(sf.marks) == 0 || sf.marks[len(sf.marks)-1].content < c {
		sf.marks = append(sf.marks, streamMark{sf.size, c})
	}
	sf.done = sf.done || done
	if err != nil && sf.err == nil {
		sf.err = err
	}
	sf.mu.Unlock()
	sf.cond.Broadcast()
}

// failed returns the writer's error, if any.
func (sf *streamFile) failed() error {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	return sf.err
}

// streamReader reads a streamFile from the start, waiting for the writer
// at the end of what is written so far.
type streamReader struct {
	sf  *streamFile
	f   *os.File
	off int64
}

func (r *streamReader) Read(b []byte) (int, error) {
	sf := r.sf
	sf.mu.Lock()
	for r.off >= sf.size && !sf.done && sf.err == nil {
		sf.cond.Wait()
	}
	size, done, err := sf.size, sf.done, sf.err
	sf.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if r.off >= size && done {
		return 0, io.EOF
	}
	if int64(len(b)) > size-r.off {
		b = b[:size-r.off]
	}
	n, err := r.f.ReadAt(b, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// fileWriter reports each write to the stream's readers.
type fileWriter struct {
	f  *os.File
	sf *streamFile
}

func (w *fileWriter) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	w.sf.grew(int64(n), false, nil)
	return n, err
}

func newUploader(e *Engine, rel *release.Release, man *release.Manifest) *uploader {
	return &uploader{e: e, rel: rel, man: man, streams: map[string]*streamFile{}}
}

func (u *uploader) close() {
	u.writers.Wait()
	if u.dir != "" {
		os.RemoveAll(u.dir)
	}
}

// linkedPaths are the shared links a release must not carry as content.
func (u *uploader) linked() (args []string, paths []string) {
	app := u.e.Project.App
	args = hostcmd.Linked(app.LinkedDirs, app.LinkedFiles)
	for _, a := range args {
		paths = append(paths, a[2:])
	}
	return args, paths
}

// step is the step that makes releases/<id> on t from its current
// release (st): the upload plan is made now, the commands run when the
// step does.
func (u *uploader) step(t *platform.Target, st *hostState) Step {
	name := "upload " + u.rel.ID
	if st != nil && st.has(u.rel.ID) {
		return Step{Name: name, Message: "already on host", Does: "write .plat/secrets.env (the release is on the host)",
			Run: func(ctx context.Context) error { return u.e.writeSecrets(ctx, t, u.rel.ID, u.secrets) }}
	}
	linkArgs, linkPaths := u.linked()
	base, baseMan := "", (*release.Manifest)(nil)
	if st != nil && st.Current != "" && st.manifest != nil {
		base, baseMan = st.Current, st.manifest
	}
	plan := release.PlanUpload(base, baseMan, u.man, linkPaths)
	msg := fmt.Sprintf("%d files changed, %s", len(plan.Send)+len(plan.Links), humanBytes(plan.SendBytes))
	does := fmt.Sprintf("prepare releases/.%s.tmp: hard links to releases/%s less %d changed path(s); send %d file(s) in one gzip tar; install; write .plat/secrets.env",
		u.rel.ID, base, len(plan.Remove), len(plan.Send))
	if base == "" {
		n, size := u.man.Files()
		msg = fmt.Sprintf("%d files, %s", n, humanBytes(size))
		does = fmt.Sprintf("prepare releases/.%s.tmp; send %d file(s) in one gzip tar; install; write .plat/secrets.env", u.rel.ID, n)
	}
	return Step{Name: name, Message: msg, Does: does, Run: func(ctx context.Context) error {
		err := u.send(ctx, t, plan, baseMan, linkArgs)
		if platform.ExitCode(err) == hostcmd.ExitManifestMismatch {
			// The base's manifest on the host is not the one plat knows:
			// send the new manifest whole instead of as a delta.
			err = u.send(ctx, t, plan, nil, linkArgs)
		}
		if platform.ExitCode(err) == hostcmd.ExitTreeMismatch && plan.Base != "" {
			// The base release drifted (edited or removed files on the
			// host), so its hard links cannot be trusted: send everything.
			u.e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: fmt.Sprintf("release %s on the host does not match its manifest; sending the whole release", plan.Base)})
			err = u.send(ctx, t, release.PlanUpload("", nil, u.man, linkPaths), nil, linkArgs)
		}
		if err == nil {
			err = u.e.writeSecrets(ctx, t, u.rel.ID, u.secrets)
		}
		return err
	}}
}

// send runs one prepare + install round on t. With deltaBase (the base
// release's manifest) the new manifest travels as a delta against it.
func (u *uploader) send(ctx context.Context, t *platform.Target, plan *release.Plan, deltaBase *release.Manifest, linkArgs []string) error {
	cmd := hostcmd.Prepare(t.DeployTo, u.rel.ID, plan.Base)
	cmd.Stdin = strings.NewReader(hostcmd.RemoveList(plan.Remove))
	if _, err := run(ctx, t, cmd); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	sf, err := u.stream(plan, deltaBase)
	if err != nil {
		return err
	}
	f, err := os.Open(sf.path)
	if err != nil {
		return err
	}
	defer f.Close()
	u.mu.Lock()
	if u.listing == "" {
		u.listing = u.man.ListingDigest()
	}
	digest := u.listing
	u.mu.Unlock()
	cmd = hostcmd.Finish(t.DeployTo, u.rel.ID, plan.Base, digest, linkArgs)
	cmd.Stdin = u.progress(t.Name, &streamReader{sf: sf, f: f}, sf, plan)
	if _, err := run(ctx, t, cmd); err != nil {
		if serr := sf.failed(); serr != nil {
			return serr
		}
		return fmt.Errorf("install: %w", err)
	}
	return nil
}

// stream returns the compressed stream for a plan, making it once per
// distinct plan.
func (u *uploader) stream(plan *release.Plan, deltaBase *release.Manifest) (*streamFile, error) {
	if plan.Base == "" {
		deltaBase = nil
	}
	key := planKey(plan, deltaBase)
	u.mu.Lock()
	defer u.mu.Unlock()
	if sf := u.streams[key]; sf != nil {
		return sf, nil
	}
	if u.dir == "" {
		d, err := os.MkdirTemp(u.e.StateDir, "upload-")
		if err != nil {
			return nil, err
		}
		u.dir = d
	}
	f, err := os.CreateTemp(u.dir, "stream-*.tar.gz")
	if err != nil {
		return nil, err
	}
	sf := &streamFile{path: f.Name()}
	sf.cond = sync.NewCond(&sf.mu)
	u.streams[key] = sf
	extras := u.extras(plan, deltaBase)
	u.writers.Add(1)
	go func() {
		defer u.writers.Done()
		err := release.WriteStreamCounted(&fileWriter{f: f, sf: sf}, u.e.store(), plan, extras, gzip.BestSpeed, &sf.content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		sf.grew(0, true, err)
	}()
	return sf, nil
}

func planKey(p *release.Plan, deltaBase *release.Manifest) string {
	h := sha256.New()
	fmt.Fprintf(h, "base %s\n", p.Base)
	if deltaBase != nil {
		fmt.Fprintf(h, "delta %s\n", deltaBase.Hash())
	}
	for _, e := range p.Send {
		fmt.Fprintf(h, "s %s %s\n", e.Hash, e.Path)
	}
	for _, l := range p.Links {
		fmt.Fprintf(h, "l %s %s\n", l[0], l[1])
	}
	for _, d := range p.Dirs {
		fmt.Fprintf(h, "d %s\n", d.Path)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// extras are the release's metadata files under .plat/. The manifest goes
// whole, or as a delta against deltaBase (the base release's manifest,
// which the host has): an incremental push then sends a few lines, not
// the whole manifest. Hosts derive sha256sums from the manifest.
func (u *uploader) extras(plan *release.Plan, deltaBase *release.Manifest) []release.Extra {
	var links strings.Builder
	for _, l := range plan.Links {
		fmt.Fprintf(&links, "%s\t%s\n", l[0], l[1])
	}
	meta, _ := json.MarshalIndent(u.rel, "", "  ")
	out := []release.Extra{
		{Name: "links", Data: []byte(links.String())},
		{Name: "release.json", Data: append(meta, '\n')},
	}
	if deltaBase == nil {
		return append(out, release.Extra{Name: "manifest", Data: u.man.Bytes()})
	}
	drop, add := manifestDelta(deltaBase, u.man)
	return append(out,
		release.Extra{Name: "manifest.drop", Data: drop},
		release.Extra{Name: "manifest.add", Data: add},
		release.Extra{Name: "manifest.sha256", Data: []byte(u.man.Hash() + "  .plat/manifest\n")})
}

// manifestDelta returns the lines of old's text form that new lacks, and
// the lines of new's that old lacks (hostcmd's finish script rebuilds new
// from old with them).
func manifestDelta(old, new *release.Manifest) (drop, add []byte) {
	// Line by line, in entry order: neither manifest's whole text is
	// built (11 MB each for 100,000 files).
	i, j := 0, 0
	for i < len(old.Entries) || j < len(new.Entries) {
		switch {
		case j >= len(new.Entries) || (i < len(old.Entries) && old.Entries[i].Path < new.Entries[j].Path):
			drop = append(drop, old.Entries[i].Line()...)
			i++
		case i >= len(old.Entries) || new.Entries[j].Path < old.Entries[i].Path:
			add = append(add, new.Entries[j].Line()...)
			j++
		default:
			if ol, nl := old.Entries[i].Line(), new.Entries[j].Line(); ol != nl {
				drop = append(drop, ol...)
				add = append(add, nl...)
			}
			i++
			j++
		}
	}
	return drop, add
}

// progress reports, at most every 200ms, how much of the plan's file
// content has reached the host (the compressed bytes it has read, mapped
// through the stream's marks) as EventProgress.
func (u *uploader) progress(host string, r io.Reader, sf *streamFile, plan *release.Plan) io.Reader {
	return &progressReader{r: r, fn: func(wire int64, final bool) {
		n := sf.contentAt(wire)
		u.e.emit(platform.Event{Type: platform.EventProgress, Host: host, Step: "upload " + u.rel.ID,
			Bytes: n, TotalBytes: plan.SendBytes, WireBytes: wire, Files: len(plan.Send),
			Message: humanBytes(n) + "/" + humanBytes(plan.SendBytes)})
	}}
}

type progressReader struct {
	r    io.Reader
	n    atomic.Int64
	last time.Time
	fn   func(n int64, final bool)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	total := p.n.Add(int64(n))
	if time.Since(p.last) > 200*time.Millisecond || err != nil {
		p.last = time.Now()
		p.fn(total, err != nil)
	}
	return n, err
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
