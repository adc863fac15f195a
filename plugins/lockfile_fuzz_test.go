package plugins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadLockFile: any .plat/plugins.lock.hcl is read or refused with an
// error saying it is the lock file; what is read writes back to a file
// that reads the same.
func FuzzReadLockFile(f *testing.F) {
	f.Add([]byte("plugin \"dirs\" {\n  version  = \"0.1.0\"\n  path     = \"plugins/plat-provider-dirs\"\n  checksum = \"sha256:" + strings.Repeat("ab", 32) + "\"\n}\n"))
	f.Add([]byte("plugin \"a\" { checksum = \"x\" }\nplugin \"a\" { checksum = \"y\" }\n"))
	f.Add([]byte("plugin {}\n"))
	f.Add([]byte("other = 1\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, LockFileName)
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		entries, err := ReadLockFile(path)
		if err != nil {
			if !strings.Contains(err.Error(), "lock file") {
				t.Fatalf("error does not name the lock file: %v", err)
			}
			return
		}
		out := filepath.Join(dir, "again.hcl")
		if err := WriteLockFile(out, entries); err != nil {
			return // entries WriteLockFile refuses (it says why)
		}
		again, err := ReadLockFile(out)
		if err != nil {
			t.Fatalf("cannot read what it wrote: %v", err)
		}
		if len(again) != len(entries) {
			t.Fatalf("round trip: %d entries, then %d", len(entries), len(again))
		}
		for i := range again {
			if again[i] != entries[i] {
				t.Fatalf("round trip changed %+v into %+v", entries[i], again[i])
			}
		}
	})
}
