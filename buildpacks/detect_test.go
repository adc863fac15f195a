package buildpacks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
)

// DetectBuiltin (what plat init asks) and a build with no buildpack named
// (what plat push runs) agree, over the shapes public apps come in.
func TestDetectBuiltinAppShapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  string // "" means nothing applies
	}{
		{"app.py alone", []string{"app.py"}, "python"},
		{"flask", []string{"app.py", "templates/index.html", "static/style.css"}, "python"},
		{"django", []string{"manage.py", "requirements.txt", "shop/settings.py"}, "python"},
		{"poetry or uv", []string{"pyproject.toml", "src/shop/__init__.py"}, "python"},
		{"setup.py", []string{"setup.py", "shop/__init__.py"}, "python"},
		{"python front end with package.json", []string{"pyproject.toml", "package.json"}, "python"},
		{"python scripts run by a Procfile", []string{"Procfile", "worker.py"}, "python"},
		{"a lone helper script", []string{"setup_helper.py"}, ""},
		{"go module", []string{"go.mod", "main.go"}, "go"},
		{"go with a web front end", []string{"go.mod", "cmd/web/main.go", "package.json", "web/index.html"}, "go"},
		{"express", []string{"package.json", "server.js", "public/index.html"}, "node"},
		{"hugo output", []string{"config.toml", "public/index.html"}, "static"},
		{"plain site", []string{"index.html", "css/site.css"}, "static"},
		{"site/ dir", []string{"site/index.html"}, "static"},
		{"shell app with a Procfile", []string{"Procfile", "serve.sh"}, "procfile"},
		{"php without a Procfile", []string{"index.php", "composer.json"}, ""},
		{"rails", []string{"Gemfile", "config.ru"}, ""},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				path := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := DetectBuiltin(dir)
			if tc.want == "" {
				if !errors.Is(err, ErrNothingDetected) {
					t.Fatalf("DetectBuiltin = %q, %v; want ErrNothingDetected", got, err)
				}
			} else if err != nil || got != tc.want {
				t.Fatalf("DetectBuiltin = %q, %v; want %q", got, err, tc.want)
			}
			names, err := New(Options{}).Detect(context.Background(), dir)
			if tc.want == "" {
				if !errors.Is(err, ErrNothingDetected) {
					t.Errorf("Detect = %v, %v; want ErrNothingDetected", names, err)
				}
				return
			}
			if err != nil || names[0] != tc.want {
				t.Errorf("Detect = %v, %v; want %q first", names, err, tc.want)
			}
		})
	}
}

func TestBuildNone(t *testing.T) {
	b := New(Options{})
	procfile := "# served as is\nweb: python3 -m http.server $PORT\n\nworker: sh work.sh\n"
	t.Run("the tree as it is", func(t *testing.T) {
		dir := t.TempDir()
		for name, content := range map[string]string{"Procfile": procfile, "index.html": "<h1>hi</h1>\n", "app.py": "print(1)\n"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var out strings.Builder
		res, err := b.Build(context.Background(), &platform.BuildRequest{Dir: dir, Buildpacks: []string{None}, Output: &out})
		if err != nil {
			t.Fatal(err)
		}
		if res.Processes["web"] != "python3 -m http.server $PORT" || res.Processes["worker"] != "sh work.sh" || len(res.Buildpacks) != 1 || res.Buildpacks[0] != None {
			t.Errorf("result = %+v", res)
		}
		// Nothing written: the Procfile keeps its comments, no .profile.d,
		// no bytecode although app.py is there.
		if got, _ := os.ReadFile(filepath.Join(dir, "Procfile")); string(got) != procfile {
			t.Errorf("Procfile rewritten: %q", got)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 3 {
			t.Errorf("the tree changed: %v", ents)
		}
		if !strings.Contains(out.String(), "none") {
			t.Errorf("output does not say so: %q", out.String())
		}
	})
	t.Run("no Procfile", func(t *testing.T) {
		dir := t.TempDir()
		_, err := b.Build(context.Background(), &platform.BuildRequest{Dir: dir, Buildpacks: []string{None}})
		if err == nil || !strings.Contains(err.Error(), "Procfile") || !strings.Contains(err.Error(), dir) {
			t.Errorf("err = %v, want one naming the missing Procfile and %s", err, dir)
		}
	})
	t.Run("with other buildpacks", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := b.Build(context.Background(), &platform.BuildRequest{Dir: dir, Buildpacks: []string{"static", None}})
		if err == nil || !strings.Contains(err.Error(), "cannot be combined") {
			t.Errorf("err = %v", err)
		}
	})
}
