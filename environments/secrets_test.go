package environments

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeHCL(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plat.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSecretBlocksInheritByName(t *testing.T) {
	dir := writeHCL(t, `app "a" {
  secret "API_TOKEN" { env = "APP_TOKEN" }
  secret "DB_PASS" { dotenv = "/etc/app/${env.name}.env" }
}
environment "base" {
  provider "local" {}
  cluster "web" { count = 1 }
  secret "DB_PASS" {
    command = ["pass", "show", "db/${env.name}"]
    timeout = "3s"
  }
}
environment "prod" {
  inherits = "base"
  secret "EXTRA" {
    dotenv = "/etc/app/x.env"
    key    = "OTHER"
  }
}
`)
	p := mustLoad(t, dir, "plat.hcl")
	got := env(t, p, "prod").Secrets
	if len(got) != 3 {
		t.Fatalf("prod secrets: %+v", got)
	}
	if got[0].Name != "API_TOKEN" || got[0].FromEnv != "APP_TOKEN" || got[0].Where != "plat.hcl:2" {
		t.Errorf("API_TOKEN: %+v", got[0])
	}
	if got[1].Name != "DB_PASS" || !reflect.DeepEqual(got[1].Command, []string{"pass", "show", "db/prod"}) || got[1].Timeout != 3*time.Second || got[1].Dotenv != "" {
		t.Errorf("DB_PASS is the parent environment's, evaluated in prod: %+v", got[1])
	}
	if got[2].Dotenv != "/etc/app/x.env" || got[2].Key != "OTHER" {
		t.Errorf("EXTRA: %+v", got[2])
	}
	out := Describe(p, env(t, p, "prod"))
	if !strings.Contains(out, "DB_PASS=(secret) from command pass show db/prod") {
		t.Errorf("env show:\n%s", out)
	}
}

func TestSecretBlocksInvalid(t *testing.T) {
	dir := writeHCL(t, `app "a" {
  env = { CLASH = "x" }
  secret "CLASH" { env = "X" }
}
environment "prod" {
  provider "local" {}
  cluster "web" { count = 1 }
  secret "IN_REPO" { dotenv = "secrets/prod.env" }
  secret "BOTH" {
    env     = "A"
    command = ["x"]
  }
  secret "NONE" {}
  secret "1BAD" { env = "A" }
  secret "1BAD" { env = "B" }
  secret "KEYONLY" {
    env = "A"
    key = "B"
  }
}
`)
	_, files, diags := load(t, dir, "plat.hcl")
	var b bytes.Buffer
	_ = WriteDiagnostics(&b, files, diags, 0, false)
	out := b.String()
	for _, want := range []string{
		"Secret and env of the same name", "plat.hcl line 3,",
		"Secret file inside the project", "plat.hcl line 8,",
		"Secret needs one source", "plat.hcl line 9,", "it has 2", "plat.hcl line 13,", "it has 0",
		"Invalid secret name", "plat.hcl line 14,",
		"Duplicate secret name", "plat.hcl line 15,",
		"key without dotenv", "plat.hcl line 18,",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, out)
		}
	}
}
