package remote

import (
	"strings"
	"testing"
)

func TestParseProbe(t *testing.T) {
	tests := []struct {
		name, out string
		os, arch  string
		found     *Build
		err       string
	}{
		{name: "nothing installed", out: "uname Linux x86_64\n", os: "linux", arch: "amd64"},
		{name: "installed", out: "uname Linux aarch64\n{\"schema_version\":1,\"version\":\"v1.2.3\",\"commit\":\"abc\",\"modified\":false,\"os\":\"linux\",\"arch\":\"arm64\"}\n",
			os: "linux", arch: "arm64", found: &Build{Version: "v1.2.3", Commit: "abc", OS: "linux", Arch: "arm64"}},
		{name: "binary prints garbage", out: "uname Darwin arm64\nSegmentation fault\n", os: "darwin", arch: "arm64"},
		{name: "no uname", out: "", err: "no output"},
		{name: "motd instead", out: "Welcome!\n", err: "unexpected output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseProbe(tt.out)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.OS != tt.os || p.Arch != tt.arch {
				t.Errorf("platform = %s/%s, want %s/%s", p.OS, p.Arch, tt.os, tt.arch)
			}
			if (p.Found == nil) != (tt.found == nil) || p.Found != nil && *p.Found != *tt.found {
				t.Errorf("found = %+v, want %+v", p.Found, tt.found)
			}
		})
	}
}

func TestBinaryName(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	tests := []struct {
		name  string
		build Build
		want  string
	}{
		{name: "release", build: Build{Version: "v1.4.2", Commit: "c"}, want: ".plat/bin/plat-v1.4.2"},
		{name: "modified work tree", build: Build{Version: "v1.4.2", Modified: true}, want: ".plat/bin/plat-v1.4.2-abababababab"},
		{name: "dev", build: Build{Version: "dev"}, want: ".plat/bin/plat-dev-abababababab"},
		{name: "dirty pseudo-version", build: Build{Version: "v0.0.0-20261204-abc+dirty"}, want: ".plat/bin/plat-v0.0.0-20261204-abc_dirty-abababababab"},
		{name: "no version", build: Build{}, want: ".plat/bin/plat-dev-abababababab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &Binary{Build: tt.build, SHA256: sha}
			if got := b.Name(); got != tt.want {
				t.Errorf("Name() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckRemote(t *testing.T) {
	for _, ok := range []string{"git@example.org:ops/app.git", "https://example.org/ops/app.git", "ssh://git@example.org/app.git", "file:///srv/git/app.git", "/srv/git/app.git", "https://bot@example.org/app.git"} {
		if err := CheckRemote(ok); err != nil {
			t.Errorf("CheckRemote(%q) = %v", ok, err)
		}
	}
	err := CheckRemote("https://bot:s3cret@example.org/app.git")
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "password") {
		t.Errorf("a URL with a token: %v (must be refused without showing the token)", err)
	}
	if err := CheckRemote("--upload-pack=evil"); err == nil {
		t.Error("a URL that is a git option must be refused")
	}
}
