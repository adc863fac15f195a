package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildPlat builds ./cmd/plat into a temporary directory.
func buildPlat(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "plat")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/plat").CombinedOutput()
	if err != nil {
		t.Fatalf("build plat: %v\n%s", err, out)
	}
	return bin
}

// needFleet skips (or fails, in CI) when sshd hosts or rsync cannot run.
func needFleet(t *testing.T) {
	t.Helper()
	var reason string
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		reason = "/usr/sbin/sshd is missing"
	} else if os.Geteuid() != 0 {
		reason = "sshd hosts need root"
	} else if _, err := exec.LookPath("rsync"); err != nil {
		reason = "rsync is missing"
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("bench smoke: %s (CI is set, so this is a failure)", reason)
	}
	t.Skipf("bench smoke: %s", reason)
}

// TestBenchSmoke runs every scenario once on three hosts with a small app,
// so the benchmark keeps working. It checks that the numbers are sane, not
// how fast anything is.
func TestBenchSmoke(t *testing.T) {
	needFleet(t)
	plat := buildPlat(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const n = 3
	var log strings.Builder
	rep, err := Run(ctx, Config{Plat: plat, Sizes: []int{n}, Runs: 1, App: SmokeApp(), Dir: t.TempDir(), Log: &log})
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	if len(rep.Fleets) != 1 || rep.Fleets[0].N != n {
		t.Fatalf("fleets: %+v", rep.Fleets)
	}
	app := rep.App
	if app.Files < 250 || app.Files > 350 || app.Binary == 0 || app.Gzipped >= app.Bytes {
		t.Errorf("app: %+v", app)
	}
	f := rep.Fleets[0]
	for _, name := range []string{ScenarioCold, ScenarioIncremental, ScenarioNoop, ScenarioForced, ScenarioRollback, ScenarioBuild} {
		s := f.Scenario(name)
		if s == nil || len(s.Plat) != 1 {
			t.Fatalf("scenario %s: %+v", name, s)
		}
		p := s.Plat[0]
		if p.Wall <= 0 || p.CPU <= 0 || p.MaxRSS < 1<<20 || p.MachineCPU < 0 {
			t.Errorf("%s: plat sample %+v", name, p)
		}
	}
	cold, inc := f.Scenario(ScenarioCold), f.Scenario(ScenarioIncremental)
	// Every host receives the incompressible content at least once.
	if got := cold.Plat[0].LoBytes; got < n*app.Binary {
		t.Errorf("cold push moved %d bytes over loopback, want at least %d", got, n*app.Binary)
	}
	if got := cold.Rsync[0].LoBytes; got < n*app.Bytes {
		t.Errorf("cold rsync moved %d bytes over loopback, want at least %d", got, n*app.Bytes)
	}
	if inc.Floor <= 0 || inc.Plat[0].LoBytes >= cold.Plat[0].LoBytes {
		t.Errorf("incremental: floor %d, %d bytes (cold %d)", inc.Floor, inc.Plat[0].LoBytes, cold.Plat[0].LoBytes)
	}
	var md strings.Builder
	rep.WriteMarkdown(&md)
	for _, want := range []string{"| cold", "| incremental", "| no-op --force", "| rollback", "N = 3"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
	t.Logf("\n%s", log.String())
}

// TestGenerateAppDeterministic checks that the same spec gives the same
// commit, and another seed another one.
func TestGenerateAppDeterministic(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is missing")
	}
	ctx := t.Context()
	spec := AppSpec{Seed: 7, Files: 60, Bytes: 400 << 10}
	a, err := GenerateApp(ctx, t.TempDir(), spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateApp(ctx, t.TempDir(), spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Seed = 8
	c, err := GenerateApp(ctx, t.TempDir(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if a.Commit != b.Commit || a.Bytes != b.Bytes {
		t.Errorf("same spec, different apps: %s %d, %s %d", a.Commit, a.Bytes, b.Commit, b.Bytes)
	}
	if a.Commit == c.Commit {
		t.Errorf("seeds 7 and 8 gave the same commit %s", a.Commit)
	}
	paths, gz, err := ChangeFiles(ctx, a.Dir, 1)
	if err != nil || len(paths) != 3 || gz <= 0 {
		t.Fatalf("ChangeFiles: %v %d %v", paths, gz, err)
	}
	if out, err := gitRun(ctx, a.Dir, "status", "--porcelain"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("ChangeFiles left the tree dirty: %q %v", out, err)
	}
}
