package buildpacks

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"

	"github.com/plat-sh/plat/platform/hostcmd"
)

func TestFormatProcfileSortedAndParsesBack(t *testing.T) {
	procs := map[string]string{"worker": "w", "web": "a: b", "release": "r"}
	got := string(formatProcfile(procs))
	if want := "release: r\nweb: a: b\nworker: w\n"; got != want {
		t.Fatalf("formatProcfile = %q, want %q", got, want)
	}
	back, err := platform.ParseProcfile(strings.NewReader(got))
	if err != nil || !reflect.DeepEqual(back, procs) {
		t.Fatalf("round trip = %v, %v", back, err)
	}
}

func TestProfileScript(t *testing.T) {
	dir := t.TempDir()
	// No .profile.d at all: the snippet succeeds under set -e.
	if got := shell(t, dir, "set -e; "+hostcmd.SourceProfile+"; echo ok"); got != "ok\n" {
		t.Fatalf("without .profile.d: %q", got)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".profile.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, ".profile.d", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.sh", "export A=one\n")
	write("b.sh", "export B=\"$A two\"\n") // sourced after a.sh, sees it
	write("ignored.txt", "export C=three\n")
	got := shell(t, dir, hostcmd.SourceProfile+` && echo "$A|$B|${C-unset}"`)
	if got != "one|one two|unset\n" {
		t.Fatalf("sourced env = %q", got)
	}
}
