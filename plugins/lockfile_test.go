package plugins_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plat-sh/plat/plugins"
)

func TestInstallVerifyAndRefuseChangedBinary(t *testing.T) {
	ctx := testCtx(t)
	project := t.TempDir()
	dir := filepath.Join(project, ".plat", "plugins")
	lock := filepath.Join(project, ".plat", "plugins.lock.hcl")

	e, err := plugins.Install(ctx, plugin("dirs"), dir)
	if err != nil {
		t.Fatal(err)
	}
	installed := filepath.Join(dir, "plat-provider-dirs")
	if e.Name != "dirs" || e.Version != "v0.1.0" || e.Path != "plugins/plat-provider-dirs" || !strings.HasPrefix(e.Checksum, "sha256:") {
		t.Errorf("entry = %+v", e)
	}
	if plugins.LockFileFor(dir) != lock {
		t.Errorf("LockFileFor(%s) = %s", dir, plugins.LockFileFor(dir))
	}
	src, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`plugin "dirs" {`, `version  = "v0.1.0"`, `path     = "plugins/plat-provider-dirs"`, `checksum = "` + e.Checksum + `"`} {
		if !strings.Contains(string(src), want) {
			t.Errorf("lock file lacks %q:\n%s", want, src)
		}
	}
	if err := plugins.Verify(lock, installed); err != nil {
		t.Fatalf("verify fresh install: %v", err)
	}
	c, err := plugins.Open(ctx, installed, plugins.Options{LockFile: lock})
	if err != nil {
		t.Fatalf("open locked plugin: %v", err)
	}
	c.Close()

	// Tamper with the binary: appending bytes keeps it runnable.
	f, err := os.OpenFile(installed, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()
	err = plugins.Verify(lock, installed)
	if !errors.Is(err, plugins.ErrChecksumMismatch) {
		t.Fatalf("verify tampered binary: %v, want ErrChecksumMismatch", err)
	}
	for _, want := range []string{"plugin dirs", "refusing to run it", "plat plugins lock dirs", "plat plugins install"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := plugins.Open(ctx, installed, plugins.Options{LockFile: lock}); !errors.Is(err, plugins.ErrChecksumMismatch) {
		t.Fatalf("open tampered binary: %v, want ErrChecksumMismatch", err)
	}

	// Re-locking trusts the new binary.
	e2, err := plugins.Lock(ctx, lock, installed)
	if err != nil {
		t.Fatal(err)
	}
	if e2.Checksum == e.Checksum {
		t.Error("re-lock kept the old checksum")
	}
	if err := plugins.Verify(lock, installed); err != nil {
		t.Fatalf("verify after re-lock: %v", err)
	}
	entries, err := plugins.ReadLockFile(lock)
	if err != nil || len(entries) != 1 {
		t.Fatalf("entries = %+v, %v", entries, err)
	}
}

func TestVerifyUnlockedPlugin(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "plugins.lock.hcl")
	err := plugins.Verify(lock, plugin("dirs"))
	if !errors.Is(err, plugins.ErrNotLocked) || !strings.Contains(err.Error(), "plat plugins lock dirs") {
		t.Fatalf("err = %v, want ErrNotLocked with a hint", err)
	}
}

func TestInstallFromGoPackageDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".plat", "plugins")
	e, err := plugins.Install(testCtx(t), "./example/plat-provider-dirs", dir)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "dirs" || e.Version != "v0.1.0" {
		t.Errorf("entry = %+v", e)
	}
	if err := plugins.Verify(plugins.LockFileFor(dir), filepath.Join(dir, "plat-provider-dirs")); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("plugin dir holds %d entries, want only the binary (staging left behind?)", len(ents))
	}
}

func TestInstallRefusesBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plugins")
	other := filepath.Join(t.TempDir(), "not-a-provider")
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := plugins.Install(testCtx(t), other, dir); err == nil || !strings.Contains(err.Error(), "is not named plat-provider-<name>") {
		t.Errorf("install misnamed binary: %v", err)
	}
	if _, err := plugins.Install(testCtx(t), plugin("noisy"), dir); err == nil || !strings.Contains(err.Error(), "before the plugin handshake") {
		t.Errorf("install broken plugin: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "plat-provider-noisy")); err == nil {
		t.Error("a plugin that failed its handshake was installed")
	}
	if _, err := plugins.Install(testCtx(t), "no/such/thing", dir); err == nil {
		t.Error("install of a missing source succeeded")
	}
}

func TestDiscoverAndList(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	copyFile(t, plugin("dirs"), filepath.Join(a, "plat-provider-dirs"))
	copyFile(t, plugin("noisy"), filepath.Join(b, "plat-provider-dirs")) // shadowed by a's
	copyFile(t, plugin("noisy"), filepath.Join(b, "plat-provider-noisy"))
	if err := os.WriteFile(filepath.Join(b, "plat-provider-notexec"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "other-tool"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	found := plugins.Discover(a, filepath.Join(a, "missing"), b)
	if len(found) != 2 || found[0].Name != "dirs" || found[0].Path != filepath.Join(a, "plat-provider-dirs") ||
		found[1].Name != "noisy" || found[1].Path != filepath.Join(b, "plat-provider-noisy") {
		t.Fatalf("discover = %+v", found)
	}
	if p, err := plugins.Find("dirs", b, a); err != nil || p != filepath.Join(b, "plat-provider-dirs") {
		t.Errorf("find dirs in b, a = %q, %v", p, err)
	}
	if _, err := plugins.Find("nope", a, b); err == nil || !strings.Contains(err.Error(), "plat plugins install") {
		t.Errorf("find missing: %v", err)
	}
	infos, err := plugins.List(testCtx(t), plugins.Options{}, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 {
		t.Fatalf("list = %+v", infos)
	}
	if i := infos[0]; i.Name != "dirs" || i.Version != "v0.1.0" || i.Protocol != 1 || i.Err != nil {
		t.Errorf("dirs info = %+v", i)
	}
	if i := infos[1]; i.Name != "noisy" || i.Err == nil || i.Protocol != 0 {
		t.Errorf("noisy info = %+v", i)
	}
}

func TestSearchDirsOrder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PATH", "/p1:/p2")
	got := plugins.SearchDirs("/proj")
	want := []string{"/proj/.plat/plugins", filepath.Join(home, ".plat", "plugins"), "/p1", "/p2"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("SearchDirs = %q, want %q", got, want)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
