package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseManifest feeds arbitrary text to the manifest parser, which
// reads manifests from hosts (a host may hold anything). Whatever it
// accepts must survive a write/parse round trip unchanged and name no
// path outside the release.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("d 0755 0 - assets\nf 0644 6 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 assets/a.css\nl 0777 5 abc link\np 0600 2 ab settings.json\n"))
	f.Add([]byte("f 0644 1 x ../../etc/passwd\n"))
	f.Add([]byte("f 0644 1 x /etc/passwd\n"))
	f.Add([]byte("f 9999 -1 x a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range m.Entries {
			if err := CheckPath(e.Path); err != nil {
				t.Fatalf("accepted a path that leaves the release: %q", e.Path)
			}
		}
		m2, err := Parse(bytes.NewReader(m.Bytes()))
		if err != nil {
			t.Fatalf("cannot parse its own output: %v\n%s", err, m.Bytes())
		}
		if !bytes.Equal(m.Bytes(), m2.Bytes()) {
			t.Fatalf("round trip changed the manifest:\n%s\n---\n%s", m.Bytes(), m2.Bytes())
		}
	})
}

// FuzzStream builds a release from fuzzed names and contents, writes the
// upload stream and reads it back as a host's tar would: every entry must
// stay inside the release and every file must arrive with its content.
func FuzzStream(f *testing.F) {
	f.Add("app.py", []byte("print('hi')\n"), "static/a.css", []byte("body{}"))
	f.Add("-leading dash", []byte("x"), "quote\"d/ünï", []byte(""))
	f.Add("a b", []byte(strings.Repeat("z", 5000)), "deep/er/still/f", []byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, n1 string, c1 []byte, n2 string, c2 []byte) {
		dir := t.TempDir()
		src := filepath.Join(dir, "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		written := map[string][]byte{}
		for _, f := range []struct {
			name string
			data []byte
		}{{n1, c1}, {n2, c2}} {
			if CheckPath(f.name) != nil || strings.ContainsAny(f.name, "\n\r\x00") || strings.HasPrefix(f.name, ".plat") || len(f.name) > 200 {
				continue
			}
			p := filepath.Join(src, filepath.FromSlash(f.name))
			if os.MkdirAll(filepath.Dir(p), 0o755) != nil || os.WriteFile(p, f.data, 0o644) != nil {
				continue
			}
			written[filepath.ToSlash(filepath.Clean(f.name))] = f.data
		}
		m, err := Scan(src, ScanOptions{})
		if err != nil {
			return // a name the scanner refuses (it says why)
		}
		st := &Store{Root: filepath.Join(dir, "store")}
		if err := st.AddTree(src, m); err != nil {
			t.Fatal(err)
		}
		plan := PlanUpload("", nil, m, nil)
		var buf bytes.Buffer
		if err := WriteStream(&buf, st, plan, []Extra{{Name: "manifest", Data: m.Bytes(), Mode: 0o644}}, gzip.BestSpeed); err != nil {
			t.Fatal(err)
		}
		got := readStream(t, &buf)
		for name, data := range written {
			// A later file may have replaced an earlier one's parent.
			if e, ok := m.Lookup(name); ok && e.IsFile() && !bytes.Equal(got[name], data) {
				t.Errorf("%q: stream carries %q, want %q", name, got[name], data)
			}
		}
	})
}

// readStream reads an upload stream back, checking no entry escapes.
func readStream(t *testing.T, r io.Reader) map[string][]byte {
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		if err := CheckPath(name); err != nil {
			t.Fatalf("stream entry %q leaves the release", h.Name)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out[name] = b
		}
	}
}
