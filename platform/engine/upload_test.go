package engine

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/release"
)

// An upload's progress counts the plan's file content that has reached
// the host, so it ends at the plan's size whatever the compression, and
// carries the total and the compressed bytes sent.
func TestUploadProgressCountsPlanContent(t *testing.T) {
	dir := t.TempDir()
	random := make([]byte, 600<<10)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"random.bin": random,                                             // does not compress
		"text.txt":   []byte(strings.Repeat("compresses well\n", 40000)), // 640 KB, to a few KB
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	man, err := release.Scan(dir, release.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var evs []platform.Event
	e := &Engine{Project: &platform.Project{Dir: dir}, StateDir: filepath.Join(t.TempDir(), "state"),
		AgeIdentity: filepath.Join(t.TempDir(), "identity"),
		UI: platform.UIFunc(func(ev platform.Event) {
			mu.Lock()
			defer mu.Unlock()
			evs = append(evs, ev)
		})}
	if err := e.store().AddTree(dir, man); err != nil {
		t.Fatal(err)
	}
	u := newUploader(e, &release.Release{ID: "r1", Env: "prod", App: "app"}, man)
	defer u.close()
	plan := release.PlanUpload("", nil, man, nil)
	if plan.SendBytes != int64(len(random)+640000) {
		t.Fatalf("plan sends %d bytes", plan.SendBytes)
	}
	sf, err := u.stream(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(sf.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wire, err := io.Copy(io.Discard, u.progress("web1", &streamReader{sf: sf, f: f}, sf, plan))
	if err != nil {
		t.Fatal(err)
	}
	if wire >= plan.SendBytes {
		t.Fatalf("stream of %d bytes for %d of content: not compressed?", wire, plan.SendBytes)
	}
	last := evs[len(evs)-1]
	if last.Type != platform.EventProgress || last.Host != "web1" || last.Step != "upload r1" ||
		last.Bytes != plan.SendBytes || last.TotalBytes != plan.SendBytes || last.WireBytes != wire || last.Files != 2 {
		t.Errorf("last progress event: %+v, want %d of %d bytes, %d on the wire", last, plan.SendBytes, plan.SendBytes, wire)
	}
	// Content grows with the stream offset, from none to all of it.
	prev := int64(-1)
	for off := int64(0); off <= wire; off += 1024 {
		c := sf.contentAt(off)
		if c < prev || c > plan.SendBytes {
			t.Fatalf("content at offset %d = %d after %d", off, c, prev)
		}
		prev = c
	}
	if c := sf.contentAt(0); c != 0 {
		t.Errorf("content at offset 0 = %d", c)
	}
	if c := sf.contentAt(wire / 2); c <= 0 || c >= plan.SendBytes {
		t.Errorf("content halfway through the stream = %d of %d", c, plan.SendBytes)
	}
}
