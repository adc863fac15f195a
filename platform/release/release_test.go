package release

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestScanIsDeterministicAndNormalised(t *testing.T) {
	files := map[string]string{"a.txt": "a", "bin/run.sh": "#!/bin/sh\n", "conf/secret.ini": "k=v", "z/y/x": "deep"}
	d1, d2 := writeTree(t, files), writeTree(t, files)
	os.Chmod(filepath.Join(d2, "a.txt"), 0o664) // group-writable in one checkout
	os.Symlink("a.txt", filepath.Join(d1, "link"))
	os.Symlink("a.txt", filepath.Join(d2, "link"))
	opts := ScanOptions{Private: map[string]bool{"conf/secret.ini": true}}
	m1, err := Scan(d1, opts)
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := Scan(d2, opts)
	if m1.Hash() != m2.Hash() {
		t.Fatalf("same content, different manifests:\n%s\n%s", m1.Bytes(), m2.Bytes())
	}
	want := map[string]string{"a.txt": "f 0644", "bin/run.sh": "f 0755", "conf/secret.ini": "p 0600", "link": "l 0777", "bin": "d 0755"}
	for p, w := range want {
		e, ok := m1.Lookup(p)
		if !ok {
			t.Fatalf("%s missing", p)
		}
		if got := string(e.Kind) + " " + strings.TrimPrefix(e.Mode.Perm().String(), "-"); !strings.HasPrefix(fmtEntry(e), w) {
			t.Errorf("%s = %s (%s), want %s", p, fmtEntry(e), got, w)
		}
	}
	parsed, err := Parse(bytes.NewReader(m1.Bytes()))
	if err != nil || parsed.Hash() != m1.Hash() {
		t.Fatalf("round trip: %v", err)
	}
}

func fmtEntry(e Entry) string {
	var b bytes.Buffer
	(&Manifest{Entries: []Entry{e}}).Write(&b)
	return b.String()
}

func TestScanRejectsNewlines(t *testing.T) {
	d := writeTree(t, map[string]string{"bad\nname": "x"})
	if _, err := Scan(d, ScanOptions{}); err == nil || !strings.Contains(err.Error(), "newlines") {
		t.Fatalf("err = %v", err)
	}
}

func entry(path, hash string) Entry {
	return Entry{Path: path, Kind: KindFile, Mode: 0o644, Size: 1, Hash: hash}
}

func TestDiffAndPlan(t *testing.T) {
	base := &Manifest{Entries: []Entry{entry("a", "h1"), entry("b", "h2"), entry("c", "h3"), {Path: "d", Kind: KindDir, Mode: 0o755, Hash: "-"}, entry("d/x", "h4")}}
	next := &Manifest{Entries: []Entry{entry("a", "h1"), entry("b", "h9"), {Path: "d", Kind: KindDir, Mode: 0o755, Hash: "-"}, entry("d/x", "h4"), entry("e", "h3"), {Path: "p", Kind: KindPrivate, Mode: 0o600, Size: 1, Hash: "h5"}}}
	got := Diff(base, next)
	want := []Change{{Path: "b", Op: "changed"}, {Path: "c", Op: "removed"}, {Path: "e", Op: "added"}, {Path: "p", Op: "added", Private: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff = %+v\nwant %+v", got, want)
	}
	plan := PlanUpload("r1", base, next, []string{"log"})
	if !reflect.DeepEqual(plan.Remove, []string{"b", "c", "log"}) {
		t.Errorf("Remove = %v", plan.Remove)
	}
	// c's content moved to e: linked on the host, not sent.
	if !reflect.DeepEqual(plan.Links, [][2]string{{"c", "e"}}) {
		t.Errorf("Links = %v", plan.Links)
	}
	var sent []string
	for _, e := range plan.Send {
		sent = append(sent, e.Path)
	}
	if !reflect.DeepEqual(sent, []string{"b", "p"}) || plan.SendBytes != 2 {
		t.Errorf("Send = %v (%d bytes)", sent, plan.SendBytes)
	}
	if cold := PlanUpload("", nil, next, nil); len(cold.Send) != 5 || cold.Base != "" {
		t.Errorf("cold plan sends %d files", len(cold.Send))
	}
	if noop := PlanUpload("r2", next, next, nil); !noop.Unchanged() || len(noop.Remove) != 0 {
		t.Errorf("no-op plan = %+v", noop)
	}
}

func TestStoreRecordIsImmutable(t *testing.T) {
	dir := writeTree(t, map[string]string{"a": "1", "b": "2"})
	m, _ := Scan(dir, ScanOptions{})
	st := &Store{Root: t.TempDir()}
	if err := st.AddTree(dir, m); err != nil {
		t.Fatal(err)
	}
	r := &Release{ID: "r1", Env: "prod", ManifestHash: m.Hash()}
	if err := st.Record(r, m); err != nil {
		t.Fatal(err)
	}
	if err := st.Record(r, m); err != nil {
		t.Errorf("recording the same release twice: %v", err)
	}
	if err := st.Record(&Release{ID: "r1", Env: "prod", ManifestHash: "other"}, m); err == nil {
		t.Error("recording r1 again with other content succeeded")
	}
	got, err := st.Manifest("prod", "r1")
	if err != nil || got.Hash() != m.Hash() {
		t.Fatalf("manifest: %v", err)
	}
	if st.Latest("prod") != 1 || st.Latest("dev") != 0 {
		t.Errorf("Latest = %d/%d", st.Latest("prod"), st.Latest("dev"))
	}
	info, _ := os.Stat(st.ObjectPath(m.Entries[0].Hash))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("object mode %v, want 0600", info.Mode())
	}
}
