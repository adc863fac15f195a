package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
)

type logged struct {
	mu    sync.Mutex
	lines []string
}

func (l *logged) Event(ev platform.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, ev.Message+ev.Error)
}

func (l *logged) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func secretEngine(t *testing.T) (*Engine, *logged) {
	t.Helper()
	repo := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	dir := filepath.Join(repo, "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ui := &logged{}
	return &Engine{Project: &platform.Project{Dir: dir}, StateDir: filepath.Join(dir, ".plat"), UI: ui,
		AgeIdentity: filepath.Join(t.TempDir(), "identity")}, ui
}

func resolve(e *Engine, secrets ...platform.Secret) (map[string]string, error) {
	return e.resolveSecrets(context.Background(), &platform.Environment{Name: "prod", Secrets: secrets})
}

// pass, the standard unix password manager, with a gpg key made here
// (no network): the command source as teams use it.
func TestSecretFromPass(t *testing.T) {
	for _, tool := range []string{"pass", "gpg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (.ci/run installs pass and gnupg)", tool)
		}
	}
	// gpg-agent's socket path must be short: not under t.TempDir().
	gnupg, err := os.MkdirTemp("/tmp", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(gnupg, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GNUPGHOME", gnupg)
	t.Setenv("PASSWORD_STORE_DIR", filepath.Join(t.TempDir(), "store"))
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--kill", "all").Run()
		os.RemoveAll(gnupg)
	})
	sh := func(stdin string, argv ...string) {
		t.Helper()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
	}
	sh("", "gpg", "--batch", "--passphrase", "", "--quick-gen-key", "plat-test@example.org", "default", "default", "never")
	sh("", "pass", "init", "plat-test@example.org")
	value := "pass-value-with spaces & 'quotes'"
	sh(value+"\n", "pass", "insert", "-m", "db/password")

	e, ui := secretEngine(t)
	got, err := resolve(e, platform.Secret{Name: "DB_PASSWORD", Command: []string{"pass", "show", "db/password"}, Where: "plat.hcl:3"})
	if err != nil {
		t.Fatal(err)
	}
	if got["DB_PASSWORD"] != value {
		t.Errorf("pass gave %q, want %q", got["DB_PASSWORD"], value)
	}
	if strings.Contains(ui.text(), "pass-value") {
		t.Errorf("the value was printed:\n%s", ui.text())
	}
	// A missing entry: pass fails, the error names the secret and command.
	_, err = resolve(e, platform.Secret{Name: "NOPE", Command: []string{"pass", "show", "db/none"}, Where: "plat.hcl:9"})
	if err == nil || !strings.Contains(err.Error(), "secret NOPE (plat.hcl:9): the command pass show db/none failed: exit status 1") {
		t.Errorf("missing pass entry: %v", err)
	}
	if !strings.Contains(ui.text(), "secret NOPE: Error: db/none is not in the password store.") {
		t.Errorf("pass's stderr is not shown:\n%s", ui.text())
	}
}

func TestSecretSources(t *testing.T) {
	e, ui := secretEngine(t)
	known := "known-value-7781"
	t.Setenv("PLAT_TEST_SRC", known)
	// A command that fails and prints a value plat already knows: the
	// stderr line and the error show it masked.
	_, err := resolve(e,
		platform.Secret{Name: "A", FromEnv: "PLAT_TEST_SRC", Where: "plat.hcl:1"},
		platform.Secret{Name: "B", Command: []string{"sh", "-c", "echo leaked " + known + " >&2; exit 3"}, Where: "plat.hcl:2"})
	if err == nil || !strings.Contains(err.Error(), "secret B (plat.hcl:2)") || !strings.Contains(err.Error(), "exit status 3") || strings.Contains(err.Error(), known) {
		t.Errorf("failing command: %v", err)
	}
	if !strings.Contains(ui.text(), "secret B: leaked (secret)") || strings.Contains(ui.text(), known) {
		t.Errorf("stderr not masked:\n%s", ui.text())
	}
	if _, ok := os.LookupEnv("PLAT_TEST_SRC"); ok {
		t.Error("the source variable is still in plat's environment, for hooks and tasks to inherit")
	}

	start := time.Now()
	_, err = resolve(e, platform.Secret{Name: "SLOW", Command: []string{"sleep", "30"}, Timeout: 300 * time.Millisecond, Where: "plat.hcl:4"})
	if err == nil || !strings.Contains(err.Error(), "did not finish within 300ms") || time.Since(start) > 10*time.Second {
		t.Errorf("timeout: %v after %v", err, time.Since(start))
	}
	_, err = resolve(e, platform.Secret{Name: "EMPTY", Command: []string{"true"}, Where: "plat.hcl:5"})
	if err == nil || !strings.Contains(err.Error(), "printed nothing") {
		t.Errorf("empty output: %v", err)
	}

	// dotenv: inside the repository (above the project dir) is refused,
	// also through a symlink from outside; outside and 0600 works.
	repo := filepath.Dir(e.Project.Dir)
	inRepo := filepath.Join(repo, "prod.env")
	if err := os.WriteFile(inRepo, []byte("K=v1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link.env")
	if err := os.Symlink(inRepo, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{inRepo, link} {
		_, err = resolve(e, platform.Secret{Name: "K", Dotenv: p, Where: "plat.hcl:6"})
		if err == nil || !strings.Contains(err.Error(), "inside the repository") {
			t.Errorf("dotenv %s: %v", p, err)
		}
	}
	out := filepath.Join(t.TempDir(), "prod.env")
	if err := os.WriteFile(out, []byte("# comment\nDB_PASSWORD='p w=1'\nexport API=tok-55\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := resolve(e,
		platform.Secret{Name: "DB_PASSWORD", Dotenv: out},
		platform.Secret{Name: "TOKEN", Dotenv: out, Key: "API"})
	if err != nil || got["DB_PASSWORD"] != "p w=1" || got["TOKEN"] != "tok-55" {
		t.Errorf("dotenv: %v %v", got, err)
	}
	_, err = resolve(e, platform.Secret{Name: "MISSING", Dotenv: out, Where: "plat.hcl:8"})
	if err == nil || !strings.Contains(err.Error(), "has no MISSING") {
		t.Errorf("missing key: %v", err)
	}

	// Digests: keyed, per name, stable for the same identity.
	d1, err := e.secretDigests(map[string]string{"A": "x", "B": "x"})
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := e.secretDigests(map[string]string{"A": "x"})
	if d1["A"] == d1["B"] || d1["A"] != d2["A"] || !strings.HasPrefix(d1["A"], "hmac-sha256:") {
		t.Errorf("digests: %v %v", d1, d2)
	}
	other, _ := secretEngine(t)
	if d3, _ := other.secretDigests(map[string]string{"A": "x"}); d3["A"] == d1["A"] {
		t.Error("the digest of a value does not depend on the key: a guessed value could be checked against it")
	}
}
