package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/plat-sh/plat/buildpacks"
)

// plat init names the buildpack that plat push's build would run, for
// every example app in the repository.
func TestInitAgreesWithPush(t *testing.T) {
	var apps []string
	for _, glob := range []string{"testdata/apps/*", "../../buildpacks/testdata/apps/*", "../../examples/notes"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, m...)
	}
	known := map[string]string{"go-semver": "go", "node-ms": "node", "notes": "python", "python-stdlib": "python", "procfile": "procfile", "static-public": "static", "empty": "generic"}
	seen := 0
	wrote := regexp.MustCompile(`Wrote .* for a (\w+) app\.`)
	for _, app := range apps {
		t.Run(filepath.Base(app), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), filepath.Base(app))
			if out, err := exec.Command("cp", "-r", app, dir).CombinedOutput(); err != nil {
				t.Fatalf("copy: %v\n%s", err, out)
			}
			os.Remove(filepath.Join(dir, "plat.hcl"))
			code, out, errOut := runMain(t, "-C", dir, "init")
			m := wrote.FindStringSubmatch(out)
			if code != 0 || m == nil {
				t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
			}
			os.Remove(filepath.Join(dir, "plat.hcl"))
			want := "generic"
			names, err := buildpacks.New(buildpacks.Options{}).Detect(context.Background(), dir)
			switch {
			case err == nil:
				want = names[0]
			case !errors.Is(err, buildpacks.ErrNothingDetected):
				t.Fatal(err)
			}
			if m[1] != want {
				t.Errorf("init says %s, the build detects %s", m[1], want)
			}
			if k, ok := known[filepath.Base(app)]; ok {
				seen++
				if m[1] != k {
					t.Errorf("init says %s, want %s", m[1], k)
				}
			}
			if want == "generic" && !strings.Contains(out, `buildpack = "none"`) {
				t.Errorf("init for an app no buildpack applies to does not say what to do:\n%s", out)
			}
		})
	}
	if seen != len(known) {
		t.Errorf("checked %d of the %d known apps: an example app moved?", seen, len(known))
	}
}

// The case: an app with only app.py. plat init calls it python and
// the starter pushes.
func TestInitThenPushAppPy(t *testing.T) {
	app := t.TempDir()
	src := "import http.server, os\n" +
		"class H(http.server.BaseHTTPRequestHandler):\n" +
		"    def do_GET(self):\n" +
		"        self.send_response(200); self.end_headers(); self.wfile.write(b'hello from app.py')\n" +
		"http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n"
	if err := os.WriteFile(filepath.Join(app, "app.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p := bpProject(t, 2, "", app)
	r := p.mustPlat("init", "--force")
	if !strings.Contains(r.stdout, "for a python app") {
		t.Fatalf("init:\n%s", r)
	}
	hcl, err := os.ReadFile(filepath.Join(p.dir, "plat.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	local := `provider "local" {}`
	if !strings.Contains(string(hcl), local) {
		t.Fatalf("the starter has no %s; update this test:\n%s", local, hcl)
	}
	hcl = []byte("variable \"base_port\" {\n  type = number\n}\n" + strings.Replace(string(hcl), local, `provider "local" { base_port = var.base_port }`, 1))
	if err := os.WriteFile(filepath.Join(p.dir, "plat.hcl"), hcl, 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("add", "-A")
	p.git("commit", "-q", "-m", "plat init")
	r = p.mustPlat("push", "local")
	if !strings.Contains(r.stdout, "-----> python") {
		t.Errorf("the python buildpack did not run:\n%s", r.stdout)
	}
	bpServes(t, p, "/", "hello from app.py")
}

// buildpack = "none": the tree as it is, its Procfile's processes; the
// push says which files it leaves out.
func TestPushPlainTree(t *testing.T) {
	site := t.TempDir()
	procfile := "# a vendored site, no build\nweb: python3 -m http.server $PORT --bind 127.0.0.1 --directory www\n"
	for name, content := range map[string]string{
		"Procfile":       procfile,
		"www/index.html": "<h1>vendored site</h1>\n",
		"www/app.py":     "print('not run: no buildpack')\n",
		".gitignore":     "*.log\n",
	} {
		path := filepath.Join(site, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := bpProject(t, 2, bpHCL("site", `  buildpack = "none"`, "", ""), site)
	// Left in the work tree, not committed: a big file and a small one
	// (warned about), a log (ignored, so not).
	for name, size := range map[string]int{"www/video.mp4": 3 << 20, "notes.txt": 100, "debug.log": 1 << 20} {
		if err := os.WriteFile(filepath.Join(p.dir, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := p.mustPlat("push", "local")
	bpServes(t, p, "/", "vendored site")
	want := "warning: 2 untracked files are not in the release (git add or .gitignore them): www/video.mp4 (3.0 MiB), notes.txt (100 B)"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("push output lacks %q:\n%s", want, r.stdout)
	}
	if strings.Contains(r.stdout, "debug.log") {
		t.Errorf("an ignored file is warned about:\n%s", r.stdout)
	}
	rel := filepath.Join(p.hostDir("web1"), "releases", "r1")
	if got, _ := os.ReadFile(filepath.Join(rel, "Procfile")); string(got) != procfile {
		t.Errorf("the release's Procfile is %q, want the tree's %q", got, procfile)
	}
	for _, absent := range []string{".profile.d", "www/__pycache__", "www/video.mp4", "notes.txt"} {
		if _, err := os.Lstat(filepath.Join(rel, absent)); err == nil {
			t.Errorf("the release has %s", absent)
		}
	}
	if r := p.mustPlat("releases", "local"); !strings.Contains(r.stdout, "r1") {
		t.Errorf("releases:\n%s", r.stdout)
	}

	// Without a Procfile there is nothing to run: the build says so and
	// nothing is uploaded.
	p.git("rm", "-q", "Procfile")
	p.git("commit", "-q", "-m", "no Procfile")
	r = p.plat("push", "local")
	if r.code == 0 || !strings.Contains(r.stderr, `buildpack "none" builds nothing, so the processes come from a Procfile`) {
		t.Errorf("push without a Procfile:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(p.hostDir("web1"), "releases", "r2")); err == nil {
		t.Error("a release was uploaded without a Procfile")
	}
}
