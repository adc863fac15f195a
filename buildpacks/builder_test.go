package buildpacks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
)

func TestBuiltinsOrder(t *testing.T) {
	want := []string{"go", "python", "node", "static", "procfile"}
	if got := Builtins(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Builtins() = %v, want %v (the order doc.go documents)", got, want)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		app  string
		want []string
	}{
		{"static-root", []string{"static"}},
		{"static-public", []string{"static"}},
		{"procfile", []string{"procfile"}},
		{"python-nodeps", []string{"python"}},
		{"python-stdlib", []string{"python", "procfile"}}, // app.py: plat init says python too
		{"python-wheel", []string{"python"}},
		{"go-sync", []string{"go"}},
		{"node-nodeps", []string{"node"}},
	}
	b := newTestBuilder(t, Options{})
	for _, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			got, err := b.Detect(context.Background(), testdataPath(t, "apps", tt.app))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Detect = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDetectOrderAllMatch(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "requirements.txt", "package.json", "index.html", "Procfile"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := newTestBuilder(t, Options{}).Detect(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Builtins()) {
		t.Fatalf("Detect = %v, want every built-in in order %v", got, Builtins())
	}
}

func TestNothingDetected(t *testing.T) {
	b := newTestBuilder(t, Options{})
	dir := copyApp(t, "empty")
	check := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, ErrNothingDetected) {
			t.Fatalf("err = %v, want ErrNothingDetected", err)
		}
		var derr *DetectError
		if !errors.As(err, &derr) || len(derr.Tried) != len(Builtins()) {
			t.Fatalf("err = %#v, want a *DetectError listing every built-in", err)
		}
		for _, s := range []string{dir, "go.mod", "requirements.txt", "pyproject.toml", "package.json", "index.html", "public/", "Procfile", "hint:"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error does not mention %q:\n%v", s, err)
			}
		}
	}
	t.Run("Detect", func(t *testing.T) {
		_, err := b.Detect(context.Background(), dir)
		check(t, err)
	})
	t.Run("Build", func(t *testing.T) {
		_, err := b.Build(context.Background(), &platform.BuildRequest{Dir: dir, CacheDir: t.TempDir()})
		check(t, err)
		if _, err := os.Stat(filepath.Join(dir, "Procfile")); !os.IsNotExist(err) {
			t.Fatalf("a failed detect wrote a Procfile: %v", err)
		}
	})
}

func TestParseRef(t *testing.T) {
	base := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "bp", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "bp", "bin", "compile"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := newTestBuilder(t, Options{BaseDir: base})
	tests := []struct {
		entry   string
		kind    refKind
		builtin string
		path    string
		url     string
		ref     string
		wantErr string
	}{
		{entry: "python", kind: refBuiltin, builtin: "python"},
		{entry: "procfile", kind: refBuiltin, builtin: "procfile"},
		{entry: "./bp", kind: refPath, path: filepath.Join(base, "bp")},
		{entry: filepath.Join(base, "bp"), kind: refPath, path: filepath.Join(base, "bp")},
		{entry: "https://example.org/x/heroku-buildpack-python", kind: refGit, url: "https://example.org/x/heroku-buildpack-python"},
		{entry: "https://example.org/x/bp.git#v1.2", kind: refGit, url: "https://example.org/x/bp.git", ref: "v1.2"},
		{entry: "git@example.org:x/bp.git", kind: refGit, url: "git@example.org:x/bp.git"},
		{entry: "file:///srv/bp#main", kind: refGit, url: "file:///srv/bp", ref: "main"},
		{entry: "bp.git#abc123", kind: refGit, url: filepath.Join(base, "bp.git"), ref: "abc123"},
		{entry: "ruby", wantErr: "no built-in has that name (built-ins: go, python, node, static, procfile)"},
		{entry: "./missing", wantErr: "no bin/compile in " + filepath.Join(base, "missing")},
		{entry: " ", wantErr: "empty buildpack name"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			r, err := b.parseRef(tt.entry)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.kind != tt.kind || r.builtin.name != tt.builtin || r.path != tt.path || r.url != tt.url || r.ref != tt.ref {
				t.Fatalf("parseRef = kind %d builtin %q path %q url %q ref %q", r.kind, r.builtin.name, r.path, r.url, r.ref)
			}
		})
	}
}

func TestBuildRejectsBadInputsBeforeRunning(t *testing.T) {
	b := newTestBuilder(t, Options{})
	tests := []struct {
		name    string
		req     func(dir string) *platform.BuildRequest
		wantErr string
	}{
		{"bad config var name", func(dir string) *platform.BuildRequest {
			return &platform.BuildRequest{Dir: dir, Env: map[string]string{"BAD-NAME": "x"}}
		}, `config var "BAD-NAME"`},
		{"unknown built-in", func(dir string) *platform.BuildRequest {
			return &platform.BuildRequest{Dir: dir, Buildpacks: []string{"procfile", "cobol"}}
		}, `use buildpack "cobol"`},
		{"missing dir", func(dir string) *platform.BuildRequest {
			return &platform.BuildRequest{Dir: filepath.Join(dir, "nope")}
		}, "read app directory"},
		{"malformed Procfile", func(dir string) *platform.BuildRequest {
			if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: ok\nthis is wrong\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return &platform.BuildRequest{Dir: dir}
		}, "Procfile line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyApp(t, "procfile")
			var out syncBuffer
			req := tt.req(dir)
			req.Output = &out
			_, err := b.Build(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if out.String() != "" {
				t.Fatalf("something ran before the input was checked:\n%s", out.String())
			}
		})
	}
}
