package environments

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStoreBlock(t *testing.T) {
	const app = "app \"notes\" {\n  buildpack = \"none\"\n}\n"
	for _, tt := range []struct {
		name, body string
		want       string // the store path, or a diagnostic's summary and line
	}{
		{"absolute", "store {\n  path = \"/shared/plat-store\"\n}\n", "/shared/plat-store"},
		{"relative to the project", "store {\n  path = \"../team-store\"\n}\n", "RELATIVE"},
		{"home", "store {\n  path = \"~/plat-store/${app.name}\"\n}\n", "~/plat-store/notes"},
		{"none", "", ""},
		{"url", "store {\n  path = \"ssh://admin1/var/lib/plat\"\n}\n", "Invalid store path at line 6"},
		{"missing path", "store {\n}\n", "Missing required argument at line 5"},
		{"on a host", "store {\n  host = \"admin1\"\n  path = \"/var/lib/plat/store\"\n}\n", "admin1:/var/lib/plat/store"},
		{"relative on a host", "store {\n  host = \"admin1\"\n  path = \"store\"\n}\n", "Invalid store path at line 7"},
		{"unknown environment", "store {\n  host = \"admin1\"\n  environment = \"prdo\"\n  path = \"/s\"\n}\n", "Unknown environment at line 7"},
		{"environment without a host", "store {\n  environment = \"prod\"\n  path = \"/s\"\n}\n", "Store environment without a host at line 6"},
		{"two", "store {\n  path = \"/a\"\n}\nstore {\n  path = \"/b\"\n}\n", "Duplicate store block at line 8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(app+"\n"+tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			p, files, diags := load(t, dir, "plat.hcl")
			if strings.Contains(tt.want, " at line ") {
				summary, line, _ := strings.Cut(tt.want, " at line ")
				var b bytes.Buffer
				_ = WriteDiagnostics(&b, files, diags, 0, false)
				if !diags.HasErrors() || diags[0].Summary != summary || diags[0].Subject == nil || strconv.Itoa(diags[0].Subject.Start.Line) != line {
					t.Fatalf("want %q, got:\n%s", tt.want, b.String())
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got := ""
			if p.Store != nil {
				got = p.Store.Path
				if p.Store.Host != "" {
					got = p.Store.Host + ":" + got
				}
			}
			want := tt.want
			if want == "RELATIVE" {
				want = filepath.Join(filepath.Dir(dir), "team-store")
			}
			if got != want {
				t.Errorf("store path = %q, want %q", got, want)
			}
		})
	}
}
