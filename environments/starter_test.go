package environments

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Which kind a directory is, is buildpacks.DetectBuiltin's business
// (tested there and through plat init); each kind's starter loads.
func TestStarterRoundTrip(t *testing.T) {
	for _, kind := range []string{KindPython, KindGo, KindNode, KindStatic, KindProcfile, KindGeneric} {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "My Shop_2")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			content, err := Starter(dir, kind)
			if err != nil {
				t.Fatal(err)
			}
			text := string(content)
			if !strings.HasPrefix(text, "# ") {
				t.Errorf("starter does not start with a comment:\n%s", text)
			}

			writeFile(t, filepath.Join(dir, "plat.hcl"), text)
			p := mustLoad(t, dir, "plat.hcl")
			eq(t, "app name", p.App.Name, "my-shop-2")
			local := env(t, p, "local")
			eq(t, "provider", local.Provider.Type, "local")
			eq(t, "hosts", hostNames(local), []string{"web1", "web2"})
			if p.App.Health == nil {
				t.Error("starter has no health check")
			}
			if len(p.Environments) != 1 {
				t.Errorf("environments = %d, want only local (ssh is commented out)", len(p.Environments))
			}

			// The commented examples must be valid too once uncommented.
			// (The shared source reads examples/ops instead of fetching.)
			ops, _ := filepath.Abs(filepath.Join("..", "examples", "ops"))
			git := `git = "git::https://git.example.org/ops/platform.git?ref=v3"`
			if !strings.Contains(text, git) {
				t.Fatalf("starter shows no shared source:\n%s", text)
			}
			writeFile(t, filepath.Join(dir, "plat.hcl"), uncomment(strings.Replace(text, git, "path = "+strconv.Quote(ops), 1)))
			p = mustLoad(t, dir, "plat.hcl")
			eq(t, "stage from ops", hostNames(env(t, p, "stage")), []string{"generic1.stage.example.org", "generic2.stage.example.org"})
			prod := env(t, p, "prod")
			eq(t, "prod provider", prod.Provider.String("user", ""), "deploy")
			eq(t, "prod hosts", hostNames(prod), []string{"web1.example.org", "web2.example.org", "web3.example.org", "web4.example.org"})
			eq(t, "prod deploy_to", prod.DeployTo, "/srv/my-shop-2")
		})
	}
}

// uncomment turns the commented HCL of a starter into live HCL: every
// "# " line inside a block (indented, or one that opens or closes one).
func uncomment(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := line[:len(line)-len(trimmed)]
		if rest, ok := strings.CutPrefix(trimmed, "# "); ok && looksLikeHCL(rest) {
			line = indent + rest
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func looksLikeHCL(s string) bool {
	t := strings.TrimSpace(s)
	return strings.HasPrefix(s, " ") || strings.HasSuffix(t, "{") || t == "}" ||
		strings.Contains(t, " = ")
}

func TestStarterErrors(t *testing.T) {
	if _, err := Starter(filepath.Join(t.TempDir(), "missing"), KindGo); err == nil {
		t.Error("Starter on a missing directory succeeded")
	}
	file := filepath.Join(t.TempDir(), "f")
	writeFile(t, file, "")
	if _, err := Starter(file, KindGo); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Starter on a file: err = %v", err)
	}
}
