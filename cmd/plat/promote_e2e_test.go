package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform/release"
)

// promoteEnvs adds two local environments, qa and live, each with its own
// ports and private settings (a greeting and a key of its own); live
// rolls out one host first.
func (p *project) promoteEnvs() (qa, live int) {
	p.t.Helper()
	base := freePorts(p.t, 4)
	for _, env := range []string{"qa", "live"} {
		dir := filepath.Join(p.root, "notes-private", env)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			p.t.Fatal(err)
		}
		settings := fmt.Sprintf(`{"greeting": "Hi from %s", "secret_key": "%s-key"}`, env, env)
		if err := os.WriteFile(filepath.Join(dir, "settings.json"), []byte(settings), 0o600); err != nil {
			p.t.Fatal(err)
		}
	}
	hcl := filepath.Join(p.dir, "plat.hcl")
	b, err := os.ReadFile(hcl)
	if err != nil {
		p.t.Fatal(err)
	}
	envs := fmt.Sprintf(`
environment "qa" {
  provider "local" {
    base_port = %d
  }
  env = {
    NOTES_DB = "../qa.sqlite3"
  }
  cluster "web" {
    count = 2
  }
}

environment "live" {
  provider "local" {
    base_port = %d
  }
  env = {
    NOTES_DB = "../live.sqlite3"
  }
  cluster "web" {
    count = 2
  }
  rollout {
    stages = [1, "100%%"]
  }
}
`, base, base+2)
	if err := os.WriteFile(hcl, append(b, envs...), 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "qa and live")
	p.t.Cleanup(func() { p.plat("down", "qa"); p.plat("down", "live") })
	return base, base + 2
}

func getOK(t *testing.T, port int) string {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("GET :%d: %v", port, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func storedManifest(t *testing.T, p *project, env, id string) *release.Manifest {
	t.Helper()
	f, err := os.Open(filepath.Join(p.dir, ".plat", "store", "envs", env, id+".manifest"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := release.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// plat promote qa live pushes the build of the release qa runs to live: no
// build (the working tree has moved on, and live gets qa's commit), live's
// private settings, live's rollout, and live's history says where it came
// from. A release that did not pass qa is refused.
func TestPromoteStageToProd(t *testing.T) {
	p := newProject(t)
	qa, live := p.promoteEnvs()
	p.mustPlat("push", "qa")
	for i := 0; i < 2; i++ {
		if body := getOK(t, qa+i); !strings.Contains(body, "notes 1.0.0") || !strings.Contains(body, "Hi from qa") {
			t.Fatalf("qa web%d serves:\n%s", i+1, body)
		}
	}
	// The working tree moves on; promote must not build it.
	p.write("VERSION", "2.0.0\n")

	r := p.mustPlat("promote", "qa", "live")
	if strings.Contains(r.stdout, "running: build") || strings.Contains(r.stdout, "running: fetch") || !strings.Contains(r.stdout, "running: promote (qa r1, notes@") {
		t.Errorf("promote built, or did not say what it promotes:\n%s", r.stdout)
	}
	// live's rollout: the first stage is one host.
	if !strings.Contains(r.stdout, "stage 1/2") {
		t.Errorf("promote did not roll out in live's stages:\n%s", r.stdout)
	}
	for i := 0; i < 2; i++ {
		body := getOK(t, live+i)
		if !strings.Contains(body, "notes 1.0.0") || !strings.Contains(body, "Hi from live") || !strings.Contains(body, "release r1") {
			t.Fatalf("live web%d serves:\n%s", i+1, body)
		}
	}
	// The same build output; only the private settings differ.
	qm, lm := storedManifest(t, p, "qa", "r1"), storedManifest(t, p, "live", "r1")
	if release.BuildHash(qm) != release.BuildHash(lm) {
		t.Errorf("build output differs:\nqa:\n%s\nlive:\n%s", release.BuildOutput(qm).Bytes(), release.BuildOutput(lm).Bytes())
	}
	if qm.Hash() == lm.Hash() {
		t.Error("live's release has qa's private settings")
	}
	settings := filepath.Join(p.dir, ".plat", "local", "live", "web1", "releases", "r1", "settings.json")
	if b, err := os.ReadFile(settings); err != nil || !strings.Contains(string(b), "live-key") {
		t.Errorf("live's settings.json: %v %s", err, b)
	}
	if st, err := os.Stat(settings); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("live's settings.json mode: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(p.dir, ".plat", "local", "live", "web1", "releases", "r1", "VERSION")); string(b) != "1.0.0\n" {
		t.Errorf("live runs VERSION %q, not qa's build", b)
	}

	rel := p.mustPlat("releases", "live")
	if !strings.Contains(rel.stdout, "PROMOTED FROM") || !strings.Contains(rel.stdout, "qa r1") {
		t.Errorf("releases live does not show where r1 came from:\n%s", rel.stdout)
	}
	if rq := p.mustPlat("releases", "qa"); strings.Contains(rq.stdout, "PROMOTED FROM") {
		t.Errorf("releases qa has a promoted-from column:\n%s", rq.stdout)
	}
	var doc struct {
		Releases []struct {
			ID           string `json:"id"`
			PromotedFrom *struct {
				Environment string `json:"environment"`
				Release     string `json:"release"`
				BuildHash   string `json:"build_hash"`
			} `json:"promoted_from"`
		} `json:"releases"`
	}
	js := p.mustPlat("--json", "releases", "live")
	if err := json.Unmarshal([]byte(js.stdout), &doc); err != nil || len(doc.Releases) != 1 {
		t.Fatalf("releases --json: %v\n%s", err, js.stdout)
	}
	if pf := doc.Releases[0].PromotedFrom; pf == nil || pf.Environment != "qa" || pf.Release != "r1" || pf.BuildHash != release.BuildHash(qm) {
		t.Errorf("releases --json promoted_from = %+v, want qa r1 %s", pf, release.BuildHash(qm))
	}

	// A release that failed on qa does not pass.
	hcl := filepath.Join(p.dir, "plat.hcl")
	orig, _ := os.ReadFile(hcl)
	os.WriteFile(hcl, []byte(strings.Replace(string(orig), "retries  = 20", "retries  = 6", 1)), 0o644)
	app, _ := os.ReadFile(filepath.Join(p.dir, "app.py"))
	p.write("app.py", strings.Replace(string(app), `return self.send(200, "text/plain", b"ok\n")`, `return self.send(503, "text/plain", b"sick\n")`, 1))
	if r := p.plat("push", "qa"); r.code != 1 {
		t.Fatalf("push of a sick release to qa: %s", r)
	}
	r = p.plat("promote", "qa", "live", "r2")
	if r.code != 2 || !strings.Contains(r.stderr, "release r2 did not pass qa") {
		t.Errorf("promote of a release that failed on qa: want exit 2 saying it did not pass, got %s", r)
	}
	if r := p.plat("promote", "qa", "live", "r9"); r.code != 2 || !strings.Contains(r.stderr, "qa has no release r9 deployed") {
		t.Errorf("promote of an unknown release: %s", r)
	}
	if body := getOK(t, live); !strings.Contains(body, "release r1") {
		t.Errorf("a refused promote changed live:\n%s", body)
	}

	// A named release, promoted while qa runs another.
	p.git("revert", "--no-edit", "HEAD")
	p.mustPlat("push", "qa") // r3: notes 2.0.0
	p.mustPlat("rollback", "qa", "r1")
	p.mustPlat("promote", "qa", "live", "r3")
	if body := getOK(t, live+1); !strings.Contains(body, "notes 2.0.0") || !strings.Contains(body, "release r2") || !strings.Contains(body, "Hi from live") {
		t.Errorf("live after promoting qa r3:\n%s", body)
	}
	if body := getOK(t, qa); !strings.Contains(body, "notes 1.0.0") {
		t.Errorf("promote changed qa:\n%s", body)
	}
	if rel := p.mustPlat("releases", "live"); !strings.Contains(rel.stdout, "qa r3") {
		t.Errorf("releases live:\n%s", rel.stdout)
	}
}
