package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateProviderValues: the values each built-in provider reads
// are checked by plat validate, with file:line:col, instead of at push
// time; a problem that names no attribute points at the provider block.
func TestValidateProviderValues(t *testing.T) {
	tests := []struct {
		name, provider string
		want           string // in the text output
		line, col      int    // of the JSON diagnostic
	}{
		{"local base_port out of range", `provider "local" {
    base_port = 70000
  }`, "environment e: plat.hcl:5:17: provider local: base_port = 70000: want a whole number from 1 to 65000", 5, 17},
		{"local base_port not whole", `provider "local" {
    base_port = 8100.5
  }`, "plat.hcl:5:17: provider local: base_port = 8100.5: want a whole number", 5, 17},
		{"docker docker_host", `provider "docker" {
    docker_host = "not an address"
  }`, `plat.hcl:5:19: provider docker: docker_host "not an address": want an address like unix:///var/run/docker.sock`, 5, 19},
		{"swarm docker_host", `provider "swarm" {
    registry    = "127.0.0.1:5000"
    docker_host = "::"
  }`, `plat.hcl:6:19: docker_host = "::": want an address`, 6, 19},
		{"vagrant cpus", `provider "vagrant" {
    provider = "virtualbox"
    box      = "debian/bookworm64"
    cpus     = 1.5
  }`, "plat.hcl:7:16: provider vagrant: cpus = 1.5: want a whole number from 0 to 1024", 7, 16},
		{"vagrant without box: at the block", `provider "vagrant" {
    provider = "virtualbox"
  }`, `plat.hcl:4:12: vagrant provider: provider "virtualbox" needs a box`, 4, 12},
		{"ssh trust", `provider "ssh" {
    trust = "maybe"
  }`, `plat.hcl:5:13: ssh provider: trust = "maybe"`, 5, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			hcl := "app \"a\" {}\n\nenvironment \"e\" {\n  " + tt.provider + "\n  cluster \"web\" { count = 1 }\n}\n"
			if strings.Contains(tt.provider, `"swarm"`) {
				hcl = strings.Replace(hcl, "  cluster \"web\" { count = 1 }\n", "", 1)
			}
			if err := os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(hcl), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errs := runMain(t, "-C", dir, "validate")
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 containing %q\n%s", code, errs, tt.want, hcl)
			}
			code, out, _ := runMain(t, "-C", dir, "--json", "validate")
			var doc struct {
				Valid       bool `json:"valid"`
				Diagnostics []struct {
					Summary, Detail, File string
					Line, Column          int
				} `json:"diagnostics"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("validate --json: %v\n%s", err, out)
			}
			if code != 2 || doc.Valid || len(doc.Diagnostics) != 1 {
				t.Fatalf("validate --json: exit %d\n%s", code, out)
			}
			d := doc.Diagnostics[0]
			if d.File != "plat.hcl" || d.Line != tt.line || d.Column != tt.col || d.Summary != "Invalid provider block" {
				t.Errorf("diagnostic at %s:%d:%d (%s), want plat.hcl:%d:%d", d.File, d.Line, d.Column, d.Summary, tt.line, tt.col)
			}
		})
	}
}
