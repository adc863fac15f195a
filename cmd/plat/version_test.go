package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-11-30T12:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tc := range []struct {
		name        string
		bi          *debug.BuildInfo
		ok          bool
		x           [3]string // -X version, commit, date
		wantVersion string
		wantCommit  string
		wantDate    string
		wantMod     bool
		wantLine    string
	}{
		{
			name: "go install at a tag", ok: true,
			bi:          &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/plat-sh/plat", Version: "v1.2.3"}},
			wantVersion: "v1.2.3", wantLine: "plat v1.2.3 " + runtime.GOOS + "/" + runtime.GOARCH + " go1.26.8 plugin-protocol 1",
		},
		{
			name: "go build in a checkout", ok: true,
			bi:          &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			wantVersion: "dev", wantCommit: "0123456789abcdef0123456789abcdef01234567", wantDate: "2026-11-30T12:00:00Z", wantMod: true,
			wantLine: "plat dev (0123456789ab 2026-11-30T12:00:00Z, modified) " + runtime.GOOS + "/" + runtime.GOARCH + " go1.26.8 plugin-protocol 1",
		},
		{
			name: "-X wins over the build info", ok: true,
			bi:          &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261130120000-0123456789ab"}, Settings: vcs},
			x:           [3]string{"v2.0.0", "fedcba9876543210", "2026-12-01T00:00:00Z"},
			wantVersion: "v2.0.0", wantCommit: "fedcba9876543210", wantDate: "2026-12-01T00:00:00Z", wantMod: true,
		},
		{name: "no build info", wantVersion: "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			version, commit, date = tc.x[0], tc.x[1], tc.x[2]
			t.Cleanup(func() { version, commit, date = "", "", "" })
			v := readVersion(tc.bi, tc.ok)
			if v.Version != tc.wantVersion || v.Commit != tc.wantCommit || v.Date != tc.wantDate || v.Modified != tc.wantMod {
				t.Errorf("got %+v, want version %q commit %q date %q modified %v", v, tc.wantVersion, tc.wantCommit, tc.wantDate, tc.wantMod)
			}
			if tc.wantLine != "" && v.String() != tc.wantLine {
				t.Errorf("line:\n got %q\nwant %q", v.String(), tc.wantLine)
			}
			if v.GoVersion == "" || v.PluginProtocol != 1 {
				t.Errorf("go version %q, plugin protocol %d", v.GoVersion, v.PluginProtocol)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	code, out, errOut := runMain(t, "version", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value: %q", out)
	}
	// commit and date are optional: this test binary may have no VCS
	// stamp (TestMakeRelease checks them).
	for _, k := range []string{"schema_version", "version", "modified", "go_version", "os", "arch", "plugin_protocol"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %q in %s", k, out)
		}
	}
	if got["os"] != runtime.GOOS || got["plugin_protocol"] != float64(1) {
		t.Errorf("os %v, plugin_protocol %v", got["os"], got["plugin_protocol"])
	}
}

// TestMakeRelease runs `make release` for this machine's platform only
// (the Makefile's PLATFORMS builds all four the same way) and runs the
// binary it made.
func TestMakeRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release binary")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make on this machine")
	}
	dist := t.TempDir()
	platform := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command("make", "-C", filepath.Join("..", ".."), "release", "PLATFORMS="+platform, "DIST="+dist,
		"VERSION=v9.8.7-test", "COMMIT=feedface", "DATE=2026-12-24T18:00:00Z")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	bin := filepath.Join(dist, "plat-"+runtime.GOOS+"-"+runtime.GOARCH)
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	want := fmt.Sprintf("plat v9.8.7-test (feedface 2026-12-24T18:00:00Z) %s ", platform)
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("version printed %q, want it to start with %q", out, want)
	}
	out, err = exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("%s version --json: %v", bin, err)
	}
	var doc versionDoc
	if err := json.Unmarshal(out, &doc); err != nil || doc.Version != "v9.8.7-test" || doc.Commit != "feedface" || doc.Date != "2026-12-24T18:00:00Z" {
		t.Errorf("version --json = %s (%v)", out, err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if line := hex.EncodeToString(sum[:]) + "  " + filepath.Base(bin) + "\n"; string(sums) != line {
		t.Errorf("SHA256SUMS is %q, want %q", sums, line)
	}
}
