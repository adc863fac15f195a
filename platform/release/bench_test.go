package release_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/plat-sh/plat/bench"
	"github.com/plat-sh/plat/platform/release"
)

// benchSpec is the app the benchmarks run on: bench.DefaultApp (about
// 5,000 files, 75 MB), or PLAT_BENCH_FILES and PLAT_BENCH_BYTES.
func benchSpec() bench.AppSpec {
	spec := bench.DefaultApp()
	if n, err := strconv.Atoi(os.Getenv("PLAT_BENCH_FILES")); err == nil && n > 0 {
		spec.Files = n
	}
	if n, err := strconv.ParseInt(os.Getenv("PLAT_BENCH_BYTES"), 10, 64); err == nil && n > 0 {
		spec.Bytes = n
	}
	return spec
}

// BenchmarkRelease measures the hot paths of a push on the benchmark's
// app tree (written once for all sub-benchmarks): hashing the tree into a
// manifest, diffing manifests and planning an upload, parsing a host's
// manifest, and writing the compressed upload stream.
func BenchmarkRelease(b *testing.B) {
	dir := b.TempDir()
	info, err := bench.WriteTree(dir, benchSpec())
	if err != nil {
		b.Fatal(err)
	}
	man, err := release.Scan(dir, release.ScanOptions{})
	if err != nil {
		b.Fatal(err)
	}
	st := &release.Store{Root: b.TempDir()}
	if err := st.AddTree(dir, man); err != nil {
		b.Fatal(err)
	}
	// next: the same tree with three files changed.
	next := &release.Manifest{Entries: append([]release.Entry(nil), man.Entries...)}
	changed := 0
	for i := range next.Entries {
		if e := &next.Entries[i]; e.IsFile() && i%1500 == 7 && changed < 3 {
			data := []byte("changed " + e.Path + "\n")
			// A new file, not a write into the old one: the store's
			// objects are hard links to the tree.
			tmp := dir + "/" + e.Path + ".new"
			if err := os.WriteFile(tmp, data, 0o644); err != nil {
				b.Fatal(err)
			}
			if err := os.Rename(tmp, dir+"/"+e.Path); err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256(data)
			e.Size, e.Hash = int64(len(data)), hex.EncodeToString(sum[:])
			changed++
		}
	}
	if err := st.AddTree(dir, next); err != nil {
		b.Fatal(err)
	}

	b.Run("Scan", func(b *testing.B) {
		b.SetBytes(info.Bytes)
		for b.Loop() {
			if _, err := release.Scan(dir, release.ScanOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Diff", func(b *testing.B) {
		for b.Loop() {
			if d := release.Diff(man, next); len(d) != changed {
				b.Fatalf("%d changes, want %d", len(d), changed)
			}
		}
	})
	b.Run("PlanUpload", func(b *testing.B) {
		for b.Loop() {
			if p := release.PlanUpload("r1", man, next, nil); len(p.Send) != changed {
				b.Fatalf("plan sends %d files, want %d", len(p.Send), changed)
			}
		}
	})
	text := man.Bytes()
	b.Run("Parse", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if _, err := release.Parse(bytes.NewReader(text)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Hash", func(b *testing.B) {
		for b.Loop() {
			_ = man.Hash()
		}
	})
	cold := release.PlanUpload("", nil, man, nil)
	incr := release.PlanUpload("r1", man, next, nil)
	for _, c := range []struct {
		name string
		plan *release.Plan
	}{{"WriteStream/cold", cold}, {"WriteStream/incremental", incr}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(c.plan.SendBytes)
			var n int64
			for b.Loop() {
				cw := &countWriter{}
				extras := []release.Extra{{Name: "manifest", Data: next.Bytes()}}
				if err := release.WriteStream(cw, st, c.plan, extras, gzip.BestSpeed); err != nil {
					b.Fatal(err)
				}
				n = cw.n
			}
			b.ReportMetric(float64(n), "stream-bytes")
		})
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// TestWriteStreamChecksContent: a stored object that no longer matches
// its hash fails the stream (hosts no longer hash what they receive).
func TestWriteStreamChecksContent(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/a.txt", []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	man, err := release.Scan(dir, release.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := &release.Store{Root: t.TempDir()}
	if err := st.AddTree(dir, man); err != nil {
		t.Fatal(err)
	}
	plan := release.PlanUpload("", nil, man, nil)
	if err := release.WriteStream(io.Discard, st, plan, nil, gzip.BestSpeed); err != nil {
		t.Fatalf("intact store: %v", err)
	}
	e, _ := man.Lookup("a.txt")
	if err := os.WriteFile(st.ObjectPath(e.Hash), []byte("HELLO\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := release.WriteStream(io.Discard, st, plan, nil, gzip.BestSpeed); err == nil || !strings.Contains(err.Error(), "a.txt") {
		t.Fatalf("damaged store: err = %v, want an error naming a.txt", err)
	}
}
