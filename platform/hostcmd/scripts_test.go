package hostcmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/release"
	"github.com/plat-sh/plat/providers/local"
)

// runLocal runs cmd through the local provider's transport (a child
// process of this test, as plat runs commands on a local host) and
// returns stdout, stderr and the exit code.
func runLocal(t *testing.T, cmd *platform.Command, stdin string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := (&local.Transport{Dir: t.TempDir()}).Run(ctx, cmd)
	var ee *platform.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.Code
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

func scriptNames(t *testing.T) []string {
	t.Helper()
	ents, err := fs.ReadDir(scriptFiles, "scripts")
	if err != nil || len(ents) == 0 {
		t.Fatalf("embedded scripts: %v (%d)", err, len(ents))
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestScriptFiles checks every file in scripts/: it has a header naming
// it, it is run by some command (no orphan), and both the file and the
// text hosts get parse with sh -n (and pass shellcheck where installed;
// make lint runs it too).
func TestScriptFiles(t *testing.T) {
	t.Parallel()
	shellcheck, _ := exec.LookPath("shellcheck")
	for _, name := range scriptNames(t) {
		b, _ := scriptFiles.ReadFile("scripts/" + name)
		if !strings.HasPrefix(string(b), "#!/bin/sh\n# "+name+" ") && !strings.HasPrefix(string(b), "#!/bin/sh\n# "+name+"\n") {
			t.Errorf("%s: the header does not start with its usage line (# %s ARGS…)", name, name)
		}
		for _, part := range []string{"Exit", "Go: "} {
			if !strings.Contains(stripHeaderComplement(string(b)), part) {
				t.Errorf("%s: the header does not document %q", name, part)
			}
		}
		if !loaded[name] {
			t.Errorf("%s: no command runs it", name)
		}
		sent := load(name)
		if strings.HasPrefix(sent, "#") || sent == "" {
			t.Errorf("%s: the text sent to hosts starts with %q", name, sent[:min(len(sent), 20)])
		}
		for what, text := range map[string]string{"file": string(b), "sent": sent} {
			c := exec.Command("sh", "-n")
			c.Stdin = strings.NewReader(text)
			if out, err := c.CombinedOutput(); err != nil {
				t.Errorf("sh -n %s (%s): %v\n%s", name, what, err, out)
			}
		}
		if shellcheck != "" {
			if out, err := exec.Command(shellcheck, filepath.Join("scripts", name)).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", name, err, out)
			}
		}
	}
}

// stripHeaderComplement is the header stripHeader drops.
func stripHeaderComplement(s string) string { return s[:len(s)-len(stripHeader(s))] }

func TestStripHeader(t *testing.T) {
	in := "#!/bin/sh\n# x.sh A\n#\n# Exit: 0\n\ncd \"$1\" || exit 0\n# a comment in the body stays\necho ok\n"
	if got, want := stripHeader(in), "cd \"$1\" || exit 0\n# a comment in the body stays\necho ok\n"; got != want {
		t.Errorf("stripHeader = %q, want %q", got, want)
	}
}

// TestScriptsHoldTheSharedFragments: the fragments Go composes
// elsewhere (the systemd units, buildpack tests) appear verbatim in the
// scripts that use them, so one edit cannot leave two versions.
func TestScriptsHoldTheSharedFragments(t *testing.T) {
	listing := strings.TrimSpace(strings.SplitN(listingScript, "\n", 2)[1])
	for _, tc := range []struct {
		script string
		want   []string
	}{
		{startScript, []string{PickShell, "echo " + NoBash, "'" + profileExec + "'"}},
		{inDirScript, []string{PickShell, "'" + SourceSecrets + "; " + SourceProfile + "; exec \"$@\"'"}},
		{inCurrentScript, []string{PickShell, "'" + SourceProfile + "; exec \"$@\"'"}},
		{stopScript, []string{staleFunc}},
		{psScript, []string{staleFunc}},
		{finishScript, []string{strings.TrimSuffix(listing, " | LC_ALL=C sort") + " | LC_ALL=C sort | sha256sum"}},
		{verifyScript, []string{listing}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.script, w) {
				t.Errorf("script %.40q… does not hold %q", tc.script, w)
			}
		}
	}
}

// TestListingEqualsManifestListing: the host's listing of a tree
// (listing.sh, the pipeline finish.sh hashes and verify.sh prints) is
// release.Manifest.Listing of the same tree, byte for byte, on names
// that trouble shells and sorts.
func TestListingEqualsManifestListing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]fs.FileMode{
		"a file with spaces.txt":            0o644,
		"a":                                 0o644,
		"a b":                               0o644,
		"a-b":                               0o644,
		"a.b":                               0o644,
		"A":                                 0o644,
		"ab/c":                              0o644,
		"ünïcødé/файл 名前.txt":               0o644,
		"tab\there":                         0o644,
		"-leading-dash":                     0o644,
		"quote'n\"double\"":                 0o644,
		"$(touch pwned)`id`;|&<>":           0o644,
		"*?[glob]":                          0o644,
		"deep/er/and/deeper/x.bin":          0o644,
		"bin/run":                           0o755,
		"config/secret.yml":                 0o600,
		"empty-file":                        0o644,
		" leading and trailing space ":      0o644,
		"percent %s %n and \\ no backslash": 0o644,
	}
	delete(files, "percent %s %n and \\ no backslash") // backslashes are not release paths
	files["percent %s %n %a"] = 0o644
	for p, mode := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(strings.Repeat("x", len(p))), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
	for _, d := range []string{"empty", "empty2/inner", "only dirs/ü/ö"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"link to file":     "a file with spaces.txt",
		"ünïcødé/dir link": "../deep/er",
		"dangling ☃":       "nowhere/ü",
		"abs":              "/etc/hostname",
		"deep/er/up":       "../../A",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	// .plat is the release's own bookkeeping: in neither listing.
	if err := os.MkdirAll(filepath.Join(dir, ".plat"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, ".plat", "manifest"), "not listed")
	skip := func(p string, d fs.DirEntry) bool { return p == ".plat" }

	m, err := release.Scan(dir, release.ScanOptions{Private: map[string]bool{"config/secret.yml": true}, Skip: skip})
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runLocal(t, Listing(dir), "")
	if code != 0 {
		t.Fatalf("listing: exit %d: %s", code, stderr)
	}
	if want := string(m.Listing()); out != want {
		t.Fatalf("host listing differs from Manifest.Listing\nhost:\n%s\nmanifest:\n%s", out, want)
	}
	if n := strings.Count(out, "\n"); n != len(files)+5 {
		t.Errorf("listing has %d lines, want %d files and 5 links:\n%s", n, len(files), out)
	}
	sum := sha256.Sum256([]byte(out))
	if hex.EncodeToString(sum[:]) != m.ListingDigest() {
		t.Errorf("sha256 of the host listing is not ListingDigest")
	}

	// The listing sees what it must: a mode plat would not write, and a
	// file the manifest does not have, both change it.
	if err := os.Chmod(filepath.Join(dir, "a"), 0o640); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "empty", "stray"), "")
	out, _, _ = runLocal(t, Listing(dir), "")
	if !strings.Contains(out, "f 640 1 ./a\n") || !strings.Contains(out, "f 644 0 ./empty/stray\n") || out == string(m.Listing()) {
		t.Errorf("listing after a chmod and a stray file:\n%s", out)
	}

	// A newline cannot be in a release path, so no listing line is split.
	nl := t.TempDir()
	write(t, filepath.Join(nl, "new\nline"), "")
	if _, err := release.Scan(nl, release.ScanOptions{}); err == nil || !strings.Contains(err.Error(), "newline") {
		t.Errorf("Scan of a name with a newline: %v", err)
	}
	if _, _, code := runLocal(t, Listing(filepath.Join(dir, "missing")), ""); code != 1 {
		t.Errorf("listing of a missing dir: exit %d, want 1", code)
	}
}
