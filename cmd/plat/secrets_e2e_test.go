package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// tokenPrefix starts every planted secret: grepping for it finds any of them.
const tokenPrefix = "zqx7TOKEN"

func plantToken(kind string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return tokenPrefix + kind + hex.EncodeToString(b)
}

// secretsFixture plants a token in a secret of every kind: a dotenv file
// outside the repository, an environment variable of plat, a command's
// output and a private file. It returns the tokens by variable name and
// the secret blocks for the app and for the environment (hooks that dump
// their environment included).
type secretsFixture struct {
	tokens   map[string]string // S_DOTENV, S_ENV, S_CMD, private
	dotenv   string
	cmdValue string
	dumps    []string // hook environment dumps
	appHCL   string
	envHCL   string
}

func newSecretsFixture(t *testing.T, p *project) *secretsFixture {
	t.Helper()
	f := &secretsFixture{tokens: map[string]string{
		"S_DOTENV": plantToken("dotenv"), "S_ENV": plantToken("env"),
		"S_CMD": plantToken("cmd"), "private": plantToken("private"),
	}}
	f.dotenv = filepath.Join(p.root, "app.env")
	if err := os.WriteFile(f.dotenv, []byte("OTHER=1\nS_DOTENV="+f.tokens["S_DOTENV"]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.cmdValue = filepath.Join(p.root, "cmd-value")
	script := filepath.Join(p.root, "get-secret")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"get-secret: reading $1\" >&2\nexec cat \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	priv := filepath.Join(p.root, "notes-private", "local", "settings.json")
	if err := os.WriteFile(priv, []byte(`{"greeting": "Hello", "secret_key": "`+f.tokens["private"]+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f.dumps = []string{filepath.Join(p.root, "hook-local.env")}
	f.appHCL = fmt.Sprintf(`
  secret "S_DOTENV" {
    dotenv = %q
  }
  secret "S_CMD" {
    command = [%q, %q]
    timeout = "30s"
  }
`, f.dotenv, script, f.cmdValue)
	f.envHCL = fmt.Sprintf(`
  secret "S_ENV" {
    env = "PLAT_TEST_SECRET_SOURCE"
  }
  hook "finished" {
    run = ["sh", "-c", "env > %s"]
  }
  hook "finished" {
    run = ["sh", "-c", "env > ../../hook-host.env"]
    on  = "hosts"
  }
`, f.dumps[0])
	// The app block gains the app-wide secrets; environments inherit them.
	hcl := filepath.Join(p.dir, "plat.hcl")
	b, err := os.ReadFile(hcl)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "app \"notes\" {\n", "app \"notes\" {\n"+f.appHCL, 1)
	if err := os.WriteFile(hcl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "secrets")
	return f
}

// check runs the secret life cycle on environment env whose hosts live
// in roots, and greps everything plat printed and wrote for the tokens.
func (f *secretsFixture) check(t *testing.T, p *project, env, host string, roots []string, serve func()) {
	var printed []string
	record := func(r result) result { printed = append(printed, r.stdout, r.stderr); return r }

	// A dotenv file others can read is refused, naming the secret and where.
	r := record(p.plat("push", env))
	if r.code == 0 || !strings.Contains(r.stderr, "secret S_DOTENV (plat.hcl:") || !strings.Contains(r.stderr, "mode 0644") || !strings.Contains(r.stderr, "chmod 600 "+f.dotenv) {
		t.Fatalf("push with a 0644 dotenv file: %s", r)
	}
	if err := os.Chmod(f.dotenv, 0o600); err != nil {
		t.Fatal(err)
	}
	// A failing command, then an unset variable: errors name the secret.
	r = record(p.plat("push", env))
	if r.code == 0 || !strings.Contains(r.stderr, "secret S_CMD") || !strings.Contains(r.stderr, "get-secret "+f.cmdValue+" failed: exit status 1") ||
		!strings.Contains(r.stdout+r.stderr, "get-secret: reading "+f.cmdValue) {
		t.Fatalf("push with a failing command: %s", r)
	}
	if err := os.WriteFile(f.cmdValue, []byte(f.tokens["S_CMD"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = record(p.plat("push", env))
	if r.code == 0 || !strings.Contains(r.stderr, "secret S_ENV") || !strings.Contains(r.stderr, "PLAT_TEST_SECRET_SOURCE is not set") {
		t.Fatalf("push without the variable: %s", r)
	}
	p.env = append(p.env, "PLAT_TEST_SECRET_SOURCE="+f.tokens["S_ENV"])

	record(p.mustPlat("push", env))
	serve()
	// The processes have the secrets in their environment.
	for _, root := range roots {
		penv := processEnv(t, root)
		for _, k := range []string{"S_DOTENV", "S_ENV", "S_CMD"} {
			if penv[k] != f.tokens[k] {
				t.Errorf("%s: the web process lacks %s", root, k)
			}
		}
		st, err := os.Stat(filepath.Join(root, "releases", "r1", ".plat", "secrets.env"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: secrets file %v %v", root, err, st)
		}
	}
	// exec runs with them too; it prints a digest here, not the value.
	sum := sha256.Sum256([]byte(f.tokens["S_CMD"]))
	r = record(p.mustPlat("exec", env, "--host", host, "--", "sh", "-c", `printf %s "$S_CMD" | sha256sum`))
	if !strings.Contains(r.stdout, hex.EncodeToString(sum[:])) {
		t.Errorf("exec does not see S_CMD: %s", r)
	}

	// A changed secret is a new release, and diff names it (only it).
	f.tokens["S_CMD2"] = plantToken("cmdtwo")
	if err := os.WriteFile(f.cmdValue, []byte(f.tokens["S_CMD2"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = record(p.mustPlat("push", env))
	if strings.Contains(r.stdout+r.stderr, "nothing to push") {
		t.Fatalf("a changed secret was not pushed: %s", r)
	}
	d := record(p.mustPlat("diff", env, "r1", "r2"))
	if !strings.Contains(d.stdout, "~ S_CMD (secret)") || strings.Contains(d.stdout, "S_DOTENV") || strings.Contains(d.stdout, "S_ENV") {
		t.Errorf("diff r1 r2:\n%s", d.stdout)
	}
	record(p.mustPlat("--json", "diff", env, "r1", "r2"))
	// The same secrets again: nothing to push.
	r = record(p.mustPlat("push", env))
	if !strings.Contains(r.stdout+r.stderr, "nothing to push") {
		t.Errorf("unchanged secrets pushed again: %s", r)
	}
	record(p.mustPlat("--json", "push", env, "--force"))
	record(p.mustPlat("-v", "push", env, "--force"))
	r = record(p.mustPlat("env", "show", env))
	if !strings.Contains(r.stdout, "S_CMD=(secret) from command") || !strings.Contains(r.stdout, "S_ENV=(secret) from env $PLAT_TEST_SECRET_SOURCE") {
		t.Errorf("env show:\n%s", r.stdout)
	}
	record(p.mustPlat("--json", "env", "show", env))
	record(p.mustPlat("status", env))
	record(p.mustPlat("releases", env))
	record(p.mustPlat("rollback", env))

	// A rollback to a release the hosts pruned uploads it again from the
	// local store: its private file and its own secrets, decrypted.
	for _, root := range roots {
		if err := os.RemoveAll(filepath.Join(root, "releases", "r1")); err != nil {
			t.Fatal(err)
		}
	}
	record(p.mustPlat("rollback", env, "r1"))
	serve()
	for _, root := range roots {
		if v := processEnv(t, root)["S_CMD"]; v != f.tokens["S_CMD"] {
			t.Errorf("%s: after the rollback to r1 the web process has S_CMD %q, want r1's", root, v)
		}
	}

	for i, out := range printed {
		if strings.Contains(out, tokenPrefix) {
			t.Errorf("plat printed a secret (output %d):\n%s", i, out)
		}
	}
	// Everything plat wrote: the project (.plat: the store, the local
	// hosts), the hosts' trees, the hook dumps. Only the hosts' secrets
	// files and the releases' private file may hold a token.
	allowed := regexp.MustCompile(`/releases/r[0-9]+/(\.plat/secrets\.env|settings\.json)$`)
	found := map[string]bool{}
	walk := append([]string{p.dir}, roots...)
	walk = append(walk, f.dumps...)
	for _, root := range roots {
		walk = append(walk, filepath.Join(root, "hook-host.env"))
	}
	for _, w := range walk {
		err := filepath.Walk(w, func(path string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !strings.Contains(string(b), tokenPrefix) {
				return nil
			}
			if !allowed.MatchString(path) {
				t.Errorf("%s holds a secret", path)
			} else if info.Mode().Perm() != 0o600 {
				t.Errorf("%s holds a secret with mode %v", path, info.Mode())
			}
			found[filepath.Base(path)] = true
			return nil
		})
		if err != nil {
			t.Errorf("walk %s: %v", w, err)
		}
	}
	if !found["secrets.env"] || !found["settings.json"] {
		t.Errorf("the grep found no secrets file or private file on the hosts (%v): it would not see a leak either", found)
	}
	for _, d := range append(f.dumps, filepath.Join(roots[0], "hook-host.env")) {
		if b, err := os.ReadFile(d); err != nil || !strings.Contains(string(b), "PLAT_ENV="+env) {
			t.Errorf("hook dump %s was not written: %v", d, err)
		}
	}
}

func TestSecretsNeverLeakLocal(t *testing.T) {
	p := newProject(t)
	f := newSecretsFixture(t, p)
	hcl := filepath.Join(p.dir, "plat.hcl")
	b, _ := os.ReadFile(hcl)
	src := strings.Replace(string(b), "environment \"local\" {\n", "environment \"local\" {\n"+f.envHCL, 1)
	if err := os.WriteFile(hcl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "local secrets")
	roots := []string{p.hostDir("web1"), p.hostDir("web2")}
	f.check(t, p, "local", "web1", roots, func() {
		if body := p.get(0, "/"); !strings.Contains(body, "Hello") {
			t.Errorf("private settings not served:\n%s", body)
		}
	})
}

func TestSecretsNeverLeakSSH(t *testing.T) {
	fleet := sshtest.New(t, 2)
	p := newProject(t)
	f := newSecretsFixture(t, p)
	ports := p.sshEnv(fleet, f.envHCL)
	t.Cleanup(func() { p.plat("down", "fleet") })
	var roots []string
	for _, h := range fleet.Hosts {
		roots = append(roots, h.Root)
	}
	f.check(t, p, "fleet", fleet.Hosts[0].Name, roots, func() { serves(t, ports, "Hello") })
}

// processEnv reads the environment of the web process of the host at root.
func processEnv(t *testing.T, root string) map[string]string {
	t.Helper()
	pid, err := os.ReadFile(filepath.Join(root, ".plat", "pids", "web.pid"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", n))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range strings.Split(string(environ), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}
