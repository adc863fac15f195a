package hostcmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The secrets file round-trips awkward values through a real sh, and
// WriteSecrets leaves it 0600 even under a permissive umask.
func TestSecretsFileIsSourcedByShell(t *testing.T) {
	root := t.TempDir()
	rel := filepath.Join(root, "releases", "r1")
	if err := os.MkdirAll(filepath.Join(rel, ".plat"), 0o755); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{
		"A": "it's $HOME `id` \"q\" \\ end",
		"B": "two\nlines",
		"C": "'",
	}
	c := WriteSecrets(root, "r1")
	cmd := exec.Command(c.Args[0], c.Args[1:]...)
	cmd.Stdin = strings.NewReader(SecretsFile(values))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("write: %v\n%s", err, out)
	}
	st, err := os.Stat(filepath.Join(rel, SecretsPath))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v %v", err, st)
	}
	for k, want := range values {
		sh := exec.Command("sh", "-c", SourceSecrets+`; printf %s "$(printenv `+k+`)"`)
		sh.Dir = rel
		out, err := sh.Output()
		if err != nil || string(out) != want {
			t.Errorf("%s: got %q (%v), want %q", k, out, err, want)
		}
	}
	// A release that is not there is an error, not a stray file.
	c = WriteSecrets(root, "r9")
	cmd = exec.Command(c.Args[0], c.Args[1:]...)
	cmd.Stdin = strings.NewReader("X='y'\n")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "release r9 is not on this host") {
		t.Errorf("write to a missing release: %v %s", err, out)
	}
}
