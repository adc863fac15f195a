package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
// compresses the release once.
type uploader struct {
	e   *Engine
	rel *release.Release
	man *release.Manifest

	mu      sync.Mutex
	streams map[string]*streamFile
	dir     string
}

type streamFile struct {
	once sync.Once
	path string
	size int64
	err  error
}

func newUploader(e *Engine, rel *release.Release, man *release.Manifest) *uploader {
	return &uploader{e: e, rel: rel, man: man, streams: map[string]*streamFile{}}
}

func (u *uploader) close() {
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

// upload makes releases/<id> on t from its current release.
func (u *uploader) upload(ctx context.Context, t *platform.Target, st *hostState) error {
	if st != nil && st.has(u.rel.ID) {
		return u.e.step(t.Name, "upload "+u.rel.ID, "already on host", func() error { return nil })
	}
	linkArgs, linkPaths := u.linked()
	base, baseMan := "", (*release.Manifest)(nil)
	if st != nil && st.Current != "" && st.manifest != nil {
		base, baseMan = st.Current, st.manifest
	}
	plan := release.PlanUpload(base, baseMan, u.man, linkPaths)
	msg := fmt.Sprintf("%d files changed, %s", len(plan.Send)+len(plan.Links), humanBytes(plan.SendBytes))
	if base == "" {
		n, size := u.man.Files()
		msg = fmt.Sprintf("%d files, %s", n, humanBytes(size))
	}
	return u.e.step(t.Name, "upload "+u.rel.ID, msg, func() error {
		err := u.send(ctx, t, plan, linkArgs)
		if platform.ExitCode(err) == hostcmd.ExitTreeMismatch && plan.Base != "" {
			// The base release drifted (edited or removed files on the
			// host), so its hard links cannot be trusted: send everything.
			u.e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: fmt.Sprintf("release %s on the host does not match its manifest; sending the whole release", plan.Base)})
			err = u.send(ctx, t, release.PlanUpload("", nil, u.man, linkPaths), linkArgs)
		}
		return err
	})
}

// send runs one prepare + install round on t.
func (u *uploader) send(ctx context.Context, t *platform.Target, plan *release.Plan, linkArgs []string) error {
	cmd := hostcmd.Prepare(t.DeployTo, u.rel.ID, plan.Base)
	cmd.Stdin = strings.NewReader(hostcmd.RemoveList(plan.Remove))
	if _, err := run(ctx, t, cmd); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	sf, err := u.stream(plan)
	if err != nil {
		return err
	}
	f, err := os.Open(sf.path)
	if err != nil {
		return err
	}
	defer f.Close()
	digest := sha256.Sum256(u.man.Listing())
	cmd = hostcmd.Finish(t.DeployTo, u.rel.ID, plan.Base, hex.EncodeToString(digest[:]), linkArgs)
	cmd.Stdin = u.progress(ctx, t.Name, f, sf.size, len(plan.Send))
	if _, err := run(ctx, t, cmd); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	return nil
}

// stream returns the compressed stream for a plan, making it once per
// distinct plan.
func (u *uploader) stream(plan *release.Plan) (*streamFile, error) {
	key := planKey(plan)
	u.mu.Lock()
	sf := u.streams[key]
	if sf == nil {
		sf = &streamFile{}
		u.streams[key] = sf
	}
	if u.dir == "" {
		d, err := os.MkdirTemp(u.e.StateDir, "upload-")
		if err != nil {
			u.mu.Unlock()
			return nil, err
		}
		u.dir = d
	}
	dir := u.dir
	u.mu.Unlock()
	sf.once.Do(func() {
		f, err := os.CreateTemp(dir, "stream-*.tar.gz")
		if err != nil {
			sf.err = err
			return
		}
		defer f.Close()
		sf.path = f.Name()
		level := gzip.BestSpeed
		if sf.err = release.WriteStream(f, u.e.store(), plan, u.extras(plan), level); sf.err != nil {
			return
		}
		st, err := f.Stat()
		if err != nil {
			sf.err = err
			return
		}
		sf.size = st.Size()
	})
	return sf, sf.err
}

func planKey(p *release.Plan) string {
	h := sha256.New()
	fmt.Fprintf(h, "base %s\n", p.Base)
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

// extras are the release's metadata files under .plat/.
func (u *uploader) extras(plan *release.Plan) []release.Extra {
	sent := map[string]bool{}
	for _, e := range plan.Send {
		sent[e.Path] = true
	}
	var links strings.Builder
	for _, l := range plan.Links {
		fmt.Fprintf(&links, "%s\t%s\n", l[0], l[1])
	}
	meta, _ := json.MarshalIndent(u.rel, "", "  ")
	return []release.Extra{
		{Name: "manifest", Data: u.man.Bytes()},
		{Name: "sha256sums", Data: u.man.SHA256Sums(nil)},
		{Name: "uploaded.sha256", Data: u.man.SHA256Sums(func(e release.Entry) bool { return sent[e.Path] })},
		{Name: "links", Data: []byte(links.String())},
		{Name: "release.json", Data: append(meta, '\n')},
	}
}

// progress reports bytes sent as EventProgress, at most every 200ms.
func (u *uploader) progress(ctx context.Context, host string, r io.Reader, total int64, files int) io.Reader {
	return &progressReader{r: r, fn: func(n int64, final bool) {
		u.e.emit(platform.Event{Type: platform.EventProgress, Host: host, Step: "upload " + u.rel.ID, Bytes: n, Files: files,
			Message: fmt.Sprintf("%s/%s", humanBytes(n), humanBytes(total))})
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
