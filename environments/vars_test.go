package environments

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const varsProject = `
variable "region" {
  default = "default-region"
}
variable "count" {
  type    = number
  default = 1
}
variable "hosts" {
  type    = list(string)
  default = ["h1"]
}
variable "debug" {
  type    = bool
  default = false
}
variable "labels" {
  type    = map(string)
  default = {}
}

app "a" {}

environment "e" {
  provider "local" {}
  deploy_to = "/srv/${var.region}"
  cluster "web" { hosts = var.hosts }
}
`

func TestVariablePrecedence(t *testing.T) {
	tests := []struct {
		name     string
		environ  []string
		files    map[string]string // name -> content, applied in name order
		vars     map[string]string
		variable string
		want     any
	}{
		{name: "default", variable: "region", want: "default-region"},
		{name: "env beats default", environ: []string{"PLAT_VAR_region=from-env"}, variable: "region", want: "from-env"},
		{
			name:     "var file beats env",
			environ:  []string{"PLAT_VAR_region=from-env"},
			files:    map[string]string{"1.hcl": `region = "from-file"`},
			variable: "region", want: "from-file",
		},
		{
			name:     "later var file beats earlier",
			files:    map[string]string{"1.hcl": `region = "first"`, "2.hcl": `region = "second"`},
			variable: "region", want: "second",
		},
		{
			name:     "--var beats everything",
			environ:  []string{"PLAT_VAR_region=from-env"},
			files:    map[string]string{"1.hcl": `region = "from-file"`},
			vars:     map[string]string{"region": "from-flag"},
			variable: "region", want: "from-flag",
		},
		{name: "number from env", environ: []string{"PLAT_VAR_count=3"}, variable: "count", want: 3.0},
		{name: "bool from flag", vars: map[string]string{"debug": "true"}, variable: "debug", want: true},
		{name: "list from flag is an expression", vars: map[string]string{"hosts": `["a", "b"]`}, variable: "hosts", want: []any{"a", "b"}},
		{name: "map from env is an expression", environ: []string{`PLAT_VAR_labels={ team = "ops" }`}, variable: "labels", want: map[string]any{"team": "ops"}},
		{name: "list from var file", files: map[string]string{"1.hcl": `hosts = ["x", "y", "z"]`}, variable: "hosts", want: []any{"x", "y", "z"}},
		{name: "string flag is taken literally", vars: map[string]string{"region": `"quoted" ${x}`}, variable: "region", want: `"quoted" ${x}`},
		{name: "undeclared PLAT_VAR is ignored", environ: []string{"PLAT_VAR_other=1", "HOME=/root"}, variable: "region", want: "default-region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "plat.hcl"), varsProject)
			var files []string
			for _, name := range sortedKeys(tt.files) {
				path := filepath.Join(dir, name)
				writeFile(t, path, tt.files[name])
				files = append(files, path)
			}
			p, _, diags := Load(Options{Dir: dir, Vars: tt.vars, VarFiles: files, Environ: tt.environ, Providers: testProviders()})
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %v", diags)
			}
			eq(t, "var."+tt.variable, p.Variables[tt.variable], tt.want)
		})
	}
}

func TestVariablesReachTheModel(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plat.hcl"), varsProject)
	p, _, diags := Load(Options{Dir: dir, Vars: map[string]string{"region": "r9", "hosts": `["web[1:2]"]`}, Providers: testProviders()})
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	e := env(t, p, "e")
	eq(t, "deploy_to", e.DeployTo, "/srv/r9")
	eq(t, "hosts", hostNames(e), []string{"web1", "web2"})
}

func TestVariableErrors(t *testing.T) {
	tests := []struct {
		name    string
		project string
		files   map[string]string
		vars    map[string]string
		environ []string
		want    []diagWant
	}{
		{
			name:    "undeclared --var",
			project: varsProject,
			vars:    map[string]string{"regoin": "x"},
			want:    []diagWant{{summary: "Value for undeclared variable", detail: `Did you mean "region"?`}},
		},
		{
			name:    "undeclared in var file",
			project: varsProject,
			files:   map[string]string{"v.hcl": "region = \"x\"\nzone = \"y\"\n"},
			want:    []diagWant{{summary: "Value for undeclared variable", file: "v.hcl", line: 2}},
		},
		{
			name:    "wrong type from flag",
			project: varsProject,
			vars:    map[string]string{"count": "many"},
			want:    []diagWant{{summary: "Invalid value for variable", detail: "--var count"}},
		},
		{
			name:    "wrong type in var file",
			project: varsProject,
			files:   map[string]string{"v.hcl": `hosts = "web1"`},
			want:    []diagWant{{summary: "Invalid value for variable", file: "v.hcl", line: 1}},
		},
		{
			name:    "unparsable list from env",
			project: varsProject,
			environ: []string{"PLAT_VAR_hosts=[a"},
			want:    []diagWant{{summary: "", file: "<value for var.hosts>", line: 1}},
		},
		{
			name:    "references in a var file",
			project: varsProject,
			files:   map[string]string{"v.hcl": `region = var.other`},
			want:    []diagWant{{summary: "Variables not allowed", file: "v.hcl", line: 1}},
		},
		{
			name:    "missing value",
			project: "variable \"token\" {\n  type = string\n}\napp \"a\" {}\n",
			want:    []diagWant{{summary: "No value for required variable", file: "plat.hcl", line: 1}},
		},
		{
			name:    "missing value given by env",
			project: "variable \"token\" {\n  type = string\n}\napp \"a\" {}\n",
			environ: []string{"PLAT_VAR_token=s3cret"},
		},
		{
			name:    "bad type expression",
			project: "variable \"n\" {\n  type = lizt(string)\n  default = []\n}\napp \"a\" {}\n",
			want:    []diagWant{{summary: "Invalid type specification", file: "plat.hcl", line: 2}},
		},
		{
			name:    "default of the wrong type",
			project: "variable \"n\" {\n  type    = number\n  default = \"x\"\n}\napp \"a\" {}\n",
			want:    []diagWant{{summary: "Invalid value for variable", file: "plat.hcl", line: 3}},
		},
		{
			name:    "duplicate variable",
			project: "variable \"n\" { default = 1 }\nvariable \"n\" { default = 2 }\napp \"a\" {}\n",
			want:    []diagWant{{summary: "Duplicate variable", file: "plat.hcl", line: 2, detail: "plat.hcl:1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "plat.hcl"), tt.project)
			var files []string
			for _, name := range sortedKeys(tt.files) {
				path := filepath.Join(dir, name)
				writeFile(t, path, tt.files[name])
				files = append(files, path)
			}
			_, _, diags := Load(Options{Dir: dir, Vars: tt.vars, VarFiles: files, Environ: tt.environ, Providers: testProviders()})
			matchDiags(t, dir, diags, tt.want)
		})
	}
}

// diagWant matches a diagnostic loosely: file "" means no source range.
type diagWant struct {
	summary, detail, file string
	line                  int
}

func matchDiags(t *testing.T, dir string, diags hcl.Diagnostics, want []diagWant) {
	t.Helper()
	if len(diags) != len(want) {
		t.Fatalf("got %d diagnostics, want %d: %v", len(diags), len(want), diags)
	}
	for i, w := range want {
		d := diags[i]
		if d.Severity != hcl.DiagError || !strings.Contains(d.Summary, w.summary) || !strings.Contains(d.Detail, w.detail) {
			t.Errorf("diagnostic %d = %q / %q, want an error %q / %q", i, d.Summary, d.Detail, w.summary, w.detail)
		}
		switch {
		case w.file == "" && d.Subject != nil:
			t.Errorf("diagnostic %d has range %s, want none", i, d.Subject)
		case w.file != "" && d.Subject == nil:
			t.Errorf("diagnostic %d has no range, want %s:%d", i, w.file, w.line)
		case w.file != "":
			file := d.Subject.Filename
			if rel, err := filepath.Rel(dir, file); err == nil && !strings.HasPrefix(rel, "..") {
				file = rel
			}
			if file != w.file || d.Subject.Start.Line != w.line {
				t.Errorf("diagnostic %d at %s:%d, want %s:%d", i, file, d.Subject.Start.Line, w.file, w.line)
			}
		}
	}
}
