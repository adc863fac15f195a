package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// bashOnly makes the example app's Procfile and a .profile.d script use
// bash syntax, as real Heroku buildpacks and Procfiles do.
func (p *project) bashOnly() {
	p.t.Helper()
	if err := os.MkdirAll(filepath.Join(p.dir, ".profile.d"), 0o755); err != nil {
		p.t.Fatal(err)
	}
	profile := `greet=(hello from bash)
if [[ ${#greet[@]} -eq 3 ]]; then export PROFILE_GREETING="${greet[*]}"; fi
`
	if err := os.WriteFile(filepath.Join(p.dir, ".profile.d", "greeting.sh"), []byte(profile), 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.git("add", ".profile.d")
	p.write("Procfile", `web: if [[ "$PROFILE_GREETING" == "hello from bash" ]]; then exec python3 app.py; else echo "no bash profile: $PROFILE_GREETING" >&2; exit 1; fi`+"\n")
}

// Heroku runs .profile.d scripts and Procfile commands with bash: so does
// plat where the host has bash, for processes, tasks and plat exec.
func TestBashRunsProfileAndProcfile(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		p := newProject(t)
		p.bashOnly()
		p.mustPlat("push", "local")
		for i := 0; i < 2; i++ {
			if body := p.get(i, "/"); !strings.Contains(body, "release r1") {
				t.Fatalf("web%d serves:\n%s", i+1, body)
			}
		}
		r := p.mustPlat("exec", "local", "--host", "web1", "--", "sh", "-c", `echo "greeting=$PROFILE_GREETING"`)
		if !strings.Contains(r.stdout, "greeting=hello from bash") {
			t.Errorf("plat exec does not see the bash .profile.d:\n%s", r)
		}
	})
	t.Run("ssh", func(t *testing.T) {
		fleet := sshtest.New(t, 2)
		p := newProject(t)
		p.bashOnly()
		ports := p.sshEnv(fleet, "")
		t.Cleanup(func() { p.plat("down", "fleet") })
		r := p.mustPlat("push", "fleet")
		serves(t, ports, "release r1")
		if strings.Contains(r.stdout, "no bash") {
			t.Errorf("push warns about bash on hosts that have it:\n%s", r.stdout)
		}
	})
}
