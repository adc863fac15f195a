package environments

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
)

func TestRolloutRestart(t *testing.T) {
	cases := []struct {
		name    string
		rollout string
		want    string
		diag    string
	}{
		{name: "default", rollout: "", want: platform.RestartStopStart},
		{name: "overlap", rollout: `restart = "overlap"`, want: platform.RestartOverlap},
		{name: "stop-start", rollout: `restart = "stop-start"`, want: platform.RestartStopStart},
		{name: "unknown", rollout: `restart = "rolling"`, diag: `"restart" must be one of "stop-start" or "overlap", not "rolling"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hcl := "app \"a\" {}\nenvironment \"e\" {\n  provider \"local\" {}\n  cluster \"web\" { count = 1 }\n  rollout {\n    " + tc.rollout + "\n  }\n}\n"
			if err := os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(hcl), 0o644); err != nil {
				t.Fatal(err)
			}
			p, files, diags := load(t, dir, "plat.hcl")
			if tc.diag != "" {
				var b bytes.Buffer
				_ = WriteDiagnostics(&b, files, diags, 0, false)
				if !diags.HasErrors() || !strings.Contains(b.String(), tc.diag) || !strings.Contains(b.String(), "plat.hcl line 6") {
					t.Fatalf("want an error at line 6 saying %s, got:\n%s", tc.diag, b.String())
				}
				return
			}
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %v", diags)
			}
			if got := p.Environment("e").Rollout.Restart; got != tc.want {
				t.Errorf("restart = %q, want %q", got, tc.want)
			}
		})
	}
}
