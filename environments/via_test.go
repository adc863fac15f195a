package environments

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitDestination(t *testing.T) {
	tests := []struct {
		name, in   string
		user, host string
		port       int
		err        string
	}{
		{name: "alias", in: "admin1", host: "admin1"},
		{name: "user and port", in: "deploy@admin1.example.org:2222", user: "deploy", host: "admin1.example.org", port: 2222},
		{name: "ipv4", in: "10.0.0.5", host: "10.0.0.5"},
		{name: "ipv6 with port", in: "ops@[2001:db8::1]:22", user: "ops", host: "2001:db8::1", port: 22},
		{name: "ipv6", in: "2001:db8::1", host: "2001:db8::1"},
		{name: "empty", in: "", err: "is empty"},
		{name: "space", in: "admin 1", err: "invalid host"},
		{name: "option", in: "-oProxyCommand=x", err: "invalid host"},
		{name: "bad port", in: "admin1:99999", err: "invalid port"},
		{name: "bad user", in: "a b@admin1", err: "invalid user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, h, p, err := SplitDestination(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("SplitDestination(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || u != tt.user || h != tt.host || p != tt.port {
				t.Fatalf("SplitDestination(%q) = %q %q %d %v, want %q %q %d", tt.in, u, h, p, err, tt.user, tt.host, tt.port)
			}
		})
	}
}

func TestViaIsInheritedAndChecked(t *testing.T) {
	dir := t.TempDir()
	src := `app "a" {}
environment "prod" {
  via = "deploy@admin1:2222"
  provider "ssh" {}
  cluster "web" { hosts = ["web1"] }
}
environment "prod2" {
  inherits = "prod"
}
environment "here" {
  provider "ssh" {}
  cluster "web" { hosts = ["web1"] }
}
environment "bad" {
  via = "admin 1"
  provider "ssh" {}
  cluster "web" { hosts = ["web1"] }
}
`
	if err := os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, files, diags := load(t, dir, "plat.hcl")
	if len(diags) != 1 {
		var b bytes.Buffer
		_ = WriteDiagnostics(&b, files, diags, 0, false)
		t.Fatalf("want one diagnostic (bad via), got:\n%s", b.String())
	}
	d := diags[0]
	if d.Summary != "Invalid via" || d.Subject == nil || d.Subject.Start.Line != 15 || !strings.Contains(d.Detail, `"admin 1"`) {
		t.Errorf("diagnostic = %s at %v: %s", d.Summary, d.Subject, d.Detail)
	}
	// The valid environments still load beside the broken one.
	for name, want := range map[string]string{"prod": "deploy@admin1:2222", "prod2": "deploy@admin1:2222", "here": ""} {
		if e := p.Environment(name); e == nil || e.Via != want {
			t.Errorf("environment %s via = %v, want %q", name, e, want)
		}
	}
}

// An ops team sets the admin node once, in its shared prod: every app
// that inherits it pushes via that node.
func TestViaFromSharedEnvironment(t *testing.T) {
	root := t.TempDir()
	ops := strings.Replace(opsEnvironments, `  inherits = "generic"
`, `  inherits = "generic"
  via      = "deploy@admin1.example.org"
`, 1)
	writeFiles(t, filepath.Join(root, "ops"), map[string]string{"environments.hcl": ops, "clusters.hcl": opsClusters})
	dir := filepath.Join(root, "app")
	writeFiles(t, dir, map[string]string{"plat.hcl": appHCL("shared \"ops\" {\n  path = \"../ops\"\n}\n", prodInheritsOps)})
	p, files, diags := loadShared(t, dir, t.TempDir(), nil)
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", errorText(t, files, diags))
	}
	if got := env(t, p, "prod").Via; got != "deploy@admin1.example.org" {
		t.Errorf("prod via = %q, want the shared environment's", got)
	}
}
