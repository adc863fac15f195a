package environments

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/plat-sh/plat/platform"
)

// testProviders is a fake provider registry: the schemas the loader
// checks provider blocks against.
func testProviders() map[string]platform.Schema {
	return map[string]platform.Schema{
		"local": {Attributes: []platform.Attribute{
			{Name: "base_port", Type: platform.TypeNumber},
		}, Hosts: &platform.HostDefaults{PortBase: "base_port", PortBaseDefault: 8100, OwnDeployTo: true}},
		"ssh": {Attributes: []platform.Attribute{
			{Name: "user", Type: platform.TypeString},
			{Name: "port", Type: platform.TypeNumber},
			{Name: "identity_file", Type: platform.TypeString},
			{Name: "known_hosts", Type: platform.TypeString},
			{Name: "trust", Type: platform.TypeString},
			{Name: "become", Type: platform.TypeString},
			{Name: "connect_timeout", Type: platform.TypeDuration},
			{Name: "server_alive_interval", Type: platform.TypeDuration},
			{Name: "server_alive_count_max", Type: platform.TypeNumber},
		}, Hosts: &platform.HostDefaults{PortFromHost: true}},
		"docker": {Attributes: []platform.Attribute{
			{Name: "image", Type: platform.TypeString, Required: true},
			{Name: "networks", Type: platform.TypeStringList},
			{Name: "labels", Type: platform.TypeStringMap},
			{Name: "privileged", Type: platform.TypeBool},
		}, Hosts: &platform.HostDefaults{}},
	}
}

func load(t *testing.T, dir, file string) (*platform.Project, *Files, hcl.Diagnostics) {
	t.Helper()
	return Load(Options{Dir: dir, File: file, Providers: testProviders()})
}

// mustLoad loads a file that must have no diagnostics at all.
func mustLoad(t *testing.T, dir, file string) *platform.Project {
	t.Helper()
	p, files, diags := load(t, dir, file)
	if len(diags) > 0 {
		var b bytes.Buffer
		_ = WriteDiagnostics(&b, files, diags, 0, false)
		t.Fatalf("load %s: unexpected diagnostics:\n%s", file, b.String())
	}
	return p
}

func env(t *testing.T, p *platform.Project, name string) *platform.Environment {
	t.Helper()
	e := p.Environment(name)
	if e == nil {
		t.Fatalf("environment %q not loaded", name)
	}
	return e
}

func hostNames(e *platform.Environment) []string {
	var out []string
	for _, h := range e.Hosts() {
		out = append(out, h.Name)
	}
	return out
}

func host(t *testing.T, e *platform.Environment, name string) *platform.Host {
	t.Helper()
	for _, h := range e.Hosts() {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("environment %s has no host %q (hosts: %v)", e.Name, name, hostNames(e))
	return nil
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestLoadValid(t *testing.T) {
	dir := filepath.Join("testdata", "valid")
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		file  string
		check func(t *testing.T, p *platform.Project)
	}{
		{
			name: "minimal file gets every default",
			file: "minimal.hcl",
			check: func(t *testing.T, p *platform.Project) {
				eq(t, "app name", p.App.Name, "hello")
				eq(t, "dir", p.Dir, abs)
				eq(t, "file", p.File, filepath.Join(abs, "minimal.hcl"))
				e := env(t, p, "local")
				eq(t, "provider", e.Provider.Type, "local")
				eq(t, "hosts", hostNames(e), []string{"web1", "web2"})
				eq(t, "keep_releases", e.KeepReleases, 5)
				eq(t, "processes", e.Processes, "plat")
				eq(t, "local deploy_to", e.DeployTo, "")
				eq(t, "stages", e.Rollout.Stages, []string{"100%"})
				eq(t, "on_failure", e.Rollout.OnFailure, "rollback")
				eq(t, "host address", e.Hosts()[0].Address, "web1")
				eq(t, "host cluster", e.Hosts()[1].Cluster, "web")
			},
		},
		{
			name: "the design example",
			file: "example.hcl",
			check: func(t *testing.T, p *platform.Project) {
				eq(t, "variables", p.Variables, map[string]any{"region": "phx1"})
				eq(t, "source", p.App.Source, platform.Source{Git: "https://example.org/caseconductor.git", Branch: "main", Submodules: true})
				eq(t, "buildpacks", p.App.Buildpacks, []string{"python"})
				eq(t, "restart", p.App.Restart, []string{"sh", "-c", "kill -HUP $(cat /run/app.pid)"})
				eq(t, "tasks", len(p.App.Tasks), 3)
				eq(t, "migrate", *p.App.Task("migrate"), platform.Task{Name: "migrate", When: platform.PhaseRelease, Run: []string{"python3", "manage.py", "migrate"}})
				eq(t, "health", *p.App.Health, platform.HealthCheck{HTTP: "/healthz", Port: 8000, Timeout: 5 * time.Second, Interval: 500 * time.Millisecond, Retries: 20})

				var names []string
				for _, e := range p.Environments {
					names = append(names, e.Name)
				}
				eq(t, "environments", names, []string{"laptop", "dev", "stage", "prod"})

				laptop := env(t, p, "laptop")
				eq(t, "laptop provider", laptop.Provider, platform.ProviderConfig{Type: "docker", Values: map[string]any{"image": "plat/base:bookworm"},
					Where: map[string]string{"": "testdata/valid/example.hcl:36:12", "image": "testdata/valid/example.hcl:36:31"}})
				eq(t, "laptop hosts", hostNames(laptop), []string{"web1", "web2"})
				eq(t, "laptop deploy_to default", laptop.DeployTo, "/srv/caseconductor")
				eq(t, "laptop private", laptop.Private, filepath.Join(filepath.Dir(abs), "caseconductor-private", "laptop"))

				dev := env(t, p, "dev")
				eq(t, "dev deploy_to", dev.DeployTo, "/data/dev/www/caseconductor")
				eq(t, "dev host 1", host(t, dev, "generic1.dev.example.org").DeployTo, "/data/dev/www/caseconductor")
				eq(t, "dev host override", host(t, dev, "generic2.dev.example.org").DeployTo, "/srv/caseconductor")

				stage := env(t, p, "stage")
				eq(t, "stage inherits", stage.Inherits, "dev")
				eq(t, "stage provider", stage.Provider.String("user", ""), "deploy")
				eq(t, "stage hosts (zero padded)", hostNames(stage), []string{"stage01.example.org", "stage02.example.org"})
				eq(t, "stage deploy_to re-evaluated for the child", stage.DeployTo, "/data/stage/www/caseconductor")

				prod := env(t, p, "prod")
				eq(t, "prod deploy_to", prod.DeployTo, "/data/prod/www/caseconductor")
				eq(t, "prod host count", len(prod.Hosts()), 12)
				eq(t, "prod first host", prod.Hosts()[0].Name, "web1.phx1.example.org")
				eq(t, "prod last host", prod.Hosts()[11].Name, "web12.phx1.example.org")
				eq(t, "prod host deploy_to", prod.Hosts()[11].DeployTo, "/data/prod/www/caseconductor")
				eq(t, "prod stages", prod.Rollout.Stages, []string{"1", "25%", "100%"})
				eq(t, "prod pause", prod.Rollout.Pause, 30*time.Second)
				eq(t, "prod rollout health is the app's", *prod.Rollout.Health, *p.App.Health)
				eq(t, "prod private", prod.Private, filepath.Join(filepath.Dir(abs), "caseconductor-private", "prod"))
			},
		},
		{
			name: "every attribute",
			file: "full.hcl",
			check: func(t *testing.T, p *platform.Project) {
				eq(t, "variables", p.Variables, map[string]any{
					"region": "phx1", "web_count": 3.0,
					"extra_hosts": []any{"db1", "db2"}, "tags": map[string]any{"team": "ops"},
				})
				a := p.App
				eq(t, "source", a.Source, platform.Source{Git: "git@example.org:shop.git", Branch: "main", Ref: "v1.2.3", Dir: "app"})
				eq(t, "buildpacks", a.Buildpacks, []string{"node", "static"})
				eq(t, "linked_dirs", a.LinkedDirs, []string{"log", "tmp/pids"})
				eq(t, "linked_files", a.LinkedFiles, []string{"config/database.yml"})
				eq(t, "app env (locals and functions)", a.Environ, map[string]string{"APP_ENV": "production", "GREET": "app-3"})
				eq(t, "migrate", *a.Task("migrate"), platform.Task{Name: "migrate", When: platform.PhaseRelease, Run: []string{"npm", "run", "migrate"}, Role: "db", Timeout: 5 * time.Minute})
				eq(t, "console", a.Task("console").When, platform.PhaseManual)
				eq(t, "health", *a.Health, platform.HealthCheck{Command: []string{"curl", "-fsS", "http://127.0.0.1:8080/up"}, Port: 8080, Status: 204, Timeout: 2 * time.Second, Interval: 250 * time.Millisecond, Retries: 40})

				base := env(t, p, "base")
				eq(t, "provider", base.Provider.Values, map[string]any{"user": "deploy", "port": 2222.0, "identity_file": "~/.ssh/deploy", "become": "sudo"})
				eq(t, "provider port", base.Provider.Int("port", 22), 2222)
				eq(t, "deploy_to template", base.DeployTo, "/srv/shop/base/${host.name}")
				eq(t, "keep_releases", base.KeepReleases, 3)
				eq(t, "processes", base.Processes, "systemd")
				eq(t, "env", base.Environ, map[string]string{"TIER": "web", "REGION": "phx1"})
				eq(t, "private", base.Private, filepath.Join(abs, "private", "base"))
				eq(t, "hosts", hostNames(base), []string{
					"web01.phx1.example.org", "web02.phx1.example.org", "web03.phx1.example.org",
					"cache1-r1", "cache1-r2", "cache2-r1", "cache2-r2",
					"db1", "db2", "db9",
				})
				web1 := host(t, base, "web01.phx1.example.org")
				eq(t, "web01", *web1, platform.Host{Name: "web01.phx1.example.org", Cluster: "web", Roles: []string{"web", "app"}, Address: "web01.phx1.example.org", DeployTo: "/srv/shop/base/web01.phx1.example.org", Port: 8000})
				web2 := host(t, base, "web02.phx1.example.org")
				eq(t, "web02", *web2, platform.Host{Name: "web02.phx1.example.org", Cluster: "web", Roles: []string{"web", "app", "canary"}, Address: "10.0.0.2", DeployTo: "/opt/10.0.0.2", Port: 8001, Vars: map[string]string{"weight": "5"}})
				eq(t, "db9 added by a host block", *host(t, base, "db9"), platform.Host{Name: "db9", Cluster: "db", Roles: []string{"db"}, Address: "10.0.0.9", DeployTo: "/srv/shop/base/db9", Port: 8080}) // no port: the app health check's
				eq(t, "cluster roles", base.Clusters[1].Roles, []string{"db"})

				r := base.Rollout
				eq(t, "stages get a final 100%", r.Stages, []string{"1", "10%", "3", "50%", "100%"})
				eq(t, "confirm", r.Confirm, true)
				eq(t, "pause", r.Pause, time.Duration(0))
				eq(t, "max_parallel", r.MaxParallel, 4)
				eq(t, "on_failure", r.OnFailure, "halt")
				eq(t, "max_failures", r.MaxFailures, "10%")
				eq(t, "drain_timeout", r.DrainTimeout, 10*time.Second)
				eq(t, "rollout health", *r.Health, platform.HealthCheck{HTTP: "/ready", Status: 200, Timeout: 5 * time.Second, Interval: time.Second, Retries: 20})
				eq(t, "hooks", base.Hooks, []platform.Hook{
					{Event: platform.HookStarting, Run: []string{"echo", "starting base"}},
					{Event: platform.HookFinished, Run: []string{"notify", "done"}},
					{Event: platform.HookFinished, Run: []string{"logger", "deployed"}, OnHost: true},
				})

				canary := env(t, p, "canary")
				eq(t, "canary clusters replaced wholesale", hostNames(canary), []string{"web1", "web2"})
				eq(t, "canary host deploy_to per host", host(t, canary, "web2").DeployTo, "/srv/shop/canary/web2")
				eq(t, "canary absolute private", canary.Private, "/etc/shop/canary")
				eq(t, "canary hooks replaced wholesale", canary.Hooks, []platform.Hook{{Event: platform.HookFailed, Run: []string{"page", "oncall"}}})
				eq(t, "canary inherits rollout", canary.Rollout.OnFailure, "halt")
				eq(t, "canary inherits processes", canary.Processes, "systemd")

				local := env(t, p, "local")
				eq(t, "local provider", local.Provider.Int("base_port", 0), 9100)
				eq(t, "local hosts from host blocks", hostNames(local), []string{"one", "two"})
				eq(t, "local host port", host(t, local, "two").Port, 9200)
				eq(t, "local private from app", local.Private, filepath.Join(abs, "private", "local"))
			},
		},
		{
			name: "inheritance rule over three levels",
			file: "inherits.hcl",
			check: func(t *testing.T, p *platform.Project) {
				parent := env(t, p, "parent")
				eq(t, "parent hosts", hostNames(parent), []string{"p1", "p2", "pdb"})
				eq(t, "parent provider", parent.Provider.Values, map[string]any{"user": "deploy", "become": "sudo"})

				child := env(t, p, "child")
				eq(t, "child inherits", child.Inherits, "parent")
				eq(t, "child env replaced, not merged", child.Environ, map[string]string{"C": "3"})
				eq(t, "child clusters replaced wholesale", hostNames(child), []string{"c1"})
				eq(t, "child provider replaced wholesale", child.Provider.Values, map[string]any{"user": "child"})
				eq(t, "child keeps unset attributes", child.KeepReleases, 7)
				eq(t, "child deploy_to in its own scope", child.DeployTo, "/srv/child")
				eq(t, "child inherits rollout", child.Rollout.Stages, []string{"1", "100%"})
				eq(t, "child inherits hooks", child.Hooks, []platform.Hook{{Event: platform.HookFinished, Run: []string{"echo", "parent"}}})

				gc := env(t, p, "grandchild")
				eq(t, "grandchild keep_releases", gc.KeepReleases, 2)
				eq(t, "grandchild hosts from child", hostNames(gc), []string{"c1"})
				eq(t, "grandchild provider from child", gc.Provider.Values, map[string]any{"user": "child"})
				eq(t, "grandchild env from child", gc.Environ, map[string]string{"C": "3"})
				eq(t, "grandchild deploy_to", host(t, gc, "c1").DeployTo, "/srv/grandchild")
				// The rollout block is replaced wholesale: the parent's
				// stages and pause are gone, the defaults are back.
				eq(t, "grandchild rollout stages", gc.Rollout.Stages, []string{"100%"})
				eq(t, "grandchild rollout pause", gc.Rollout.Pause, time.Duration(0))
				eq(t, "grandchild rollout on_failure", gc.Rollout.OnFailure, "halt")
				eq(t, "grandchild rollout health from app", gc.Rollout.Health.TCP, true)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustLoad(t, dir, tt.file))
		})
	}
}

// wantDiag is one expected error: a substring of its summary, its line,
// and optionally a substring of its detail.
type wantDiag struct {
	summary string
	line    int
	detail  string
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []wantDiag
	}{
		{"unknown attribute", "unknown_attribute.hcl", []wantDiag{{"Unsupported argument", 5, `Did you mean "deploy_to"?`}}},
		{"unknown block", "unknown_block.hcl", []wantDiag{
			{"Unsupported block type", 2, `Did you mean "health"?`},
			{"Unsupported block type", 12, `"server"`},
		}},
		{"wrong type", "wrong_type.hcl", []wantDiag{
			{"Incorrect attribute value type", 2, `"restart"`},
			{"Incorrect attribute value type", 7, `"keep_releases"`},
			{"Incorrect attribute value type", 10, `"roles"`},
		}},
		{"duplicate environment", "duplicate_environment.hcl", []wantDiag{{"Duplicate environment name", 8, "duplicate_environment.hcl:3"}}},
		{"duplicate cluster", "duplicate_cluster.hcl", []wantDiag{{"Duplicate cluster name", 6, "duplicate_cluster.hcl:5"}}},
		{"duplicate task", "duplicate_task.hcl", []wantDiag{{"Duplicate task name", 6, "duplicate_task.hcl:2"}}},
		{"duplicate host", "duplicate_host.hcl", []wantDiag{
			{"Duplicate host name", 6, `Host "web1" was first defined at`},
			{"Duplicate host name", 10, `Host "web3" was first defined at testdata/invalid/duplicate_host.hcl:6`},
		}},
		{"unknown provider", "unknown_provider.hcl", []wantDiag{{"Unknown provider type", 4, `Did you mean "ssh"? Known providers: docker, local, ssh`}}},
		{"provider schema", "provider_schema.hcl", []wantDiag{
			{"Incorrect attribute value type", 6, `"port"`},
			{"Unsupported argument", 7, `"passwrd"`},
			{"Missing required argument", 13, `"image"`},
			{"Incorrect attribute value type", 14, `"networks"`},
		}},
		{"provider durations", "provider_duration.hcl", []wantDiag{
			{"Invalid duration", 5, `"10" is not a duration`},
			{"Invalid duration", 6, `"-2s"`},
			{"Incorrect attribute value type", 7, `"server_alive_count_max"`},
		}},
		{"inherits cycle", "inherits_cycle.hcl", []wantDiag{
			{"Inheritance cycle", 4, `"a" inherits "c" inherits "b" inherits "a"`},
			{"Inheritance cycle", 16, `"d" inherits "d"`},
		}},
		{"inherits missing parent", "inherits_missing.hcl", []wantDiag{{"Unknown parent environment", 4, `Did you mean "prod"?`}}},
		{"bad host ranges", "bad_range.hcl", []wantDiag{
			{"Invalid host range", 7, "counts down"},
			{"Invalid host range", 8, "[1:x]"},
			{"Invalid host range", 9, "unclosed"},
			{"Invalid host range", 10, `"]" without "["`},
		}},
		{"undeclared variable", "undeclared_variable.hcl", []wantDiag{
			{"Reference to undeclared input variable", 6, `"usr"`},
			{"Reference to undeclared input variable", 7, `Did you mean "region"?`},
		}},
		{"invalid stages", "invalid_stage.hcl", []wantDiag{
			{"Invalid rollout stage", 8, `"110%"`},
			{"Invalid rollout stage", 9, "not 0."},
			{"Invalid rollout stage", 10, `"abc"`},
			{"Invalid rollout stage", 12, "1.5"},
			{"Invalid max_failures", 14, `"lots"`},
		}},
		{"invalid durations", "invalid_duration.hcl", []wantDiag{
			{"Invalid duration", 5, `"5 minutes"`},
			{"Invalid duration", 9, `"-1s"`},
			{"Invalid duration", 17, `"30"`},
			{"Invalid duration", 18, `"soon"`},
		}},
		{"invalid on_failure", "invalid_on_failure.hcl", []wantDiag{{"Invalid on_failure", 7, `"rollback" or "halt", not "retry"`}}},
		{"missing app", "missing_app.hcl", []wantDiag{{"Missing app block", 1, ""}}},
		{"buildpack none with others", "buildpack_none.hcl", []wantDiag{{"Invalid buildpack list", 2, `buildpack = "none" deploys the tree as it is`}}},
		{"syntax error", "syntax_error.hcl", []wantDiag{
			{"Invalid multi-line string", 2, ""},
			{"Unterminated template string", 2, ""},
			{"Invalid multi-line string", 3, ""},
		}},
		{"locals cycle and undeclared local", "locals_cycle.hcl", []wantDiag{
			{"Cycle in local values", 2, "local.a -> local.b -> local.a"},
			{"Reference to undeclared local value", 4, `"nope"`},
		}},
		{"names out of scope", "scope.hcl", []wantDiag{
			{"Invalid reference", 2, "env.*"},
			{"Invalid reference", 6, "host.*"},
			{"Unknown variable", 8, `"region"`},
		}},
		{"health checks", "health.hcl", []wantDiag{
			{"Conflicting health checks", 4, ""},
			{"Missing health check kind", 12, ""},
			{"Invalid number", 13, "70000"},
		}},
		{"clusters", "cluster.hcl", []wantDiag{
			{"Invalid deploy_to", 5, `"relative/path"`},
			{"Conflicting arguments", 8, "line 7"},
			{"Cluster has no hosts", 10, `"empty"`},
			{"Invalid number", 11, `"count"`},
			{"Missing cluster block", 14, `"nothing"`},
		}},
		{"tasks, processes and hooks", "hooks.hcl", []wantDiag{
			{"Invalid task phase", 3, `"later"`},
			{"Empty command", 4, ""},
			{"Invalid processes", 10, `"docker"`},
			{"Unknown hook event", 12, `Did you mean "finished"?`},
			{"Missing required argument", 15, `"run"`},
			{"Invalid hook target", 16, `"everywhere"`},
		}},
		{"several mistakes, all reported", "many.hcl", []wantDiag{
			{"No value for required variable", 2, "PLAT_VAR_region"},
			{"Duplicate task name", 9, "many.hcl:5"},
			{"Incorrect attribute value type", 16, `"user"`},
			{"Invalid host range", 17, "[2:1]"},
			{"Unknown provider type", 21, `"nope"`},
			{"Invalid rollout stage", 23, `"0%"`},
			{"Unknown parent environment", 27, `"production"`},
			{"Reference to undeclared input variable", 28, `"zone"`},
			{"Invalid on_failure", 29, `"ignore"`},
			{"Duplicate environment name", 32, "many.hcl:15"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", tt.file)
			_, files, diags := load(t, filepath.Join("testdata", "invalid"), tt.file)
			checkDiags(t, path, files, diags, tt.want)
		})
	}
}

// checkDiags asserts that diags are exactly the wanted errors, each
// located in path, in order.
func checkDiags(t *testing.T, path string, files *Files, diags hcl.Diagnostics, want []wantDiag) {
	t.Helper()
	var text bytes.Buffer
	if err := WriteDiagnostics(&text, files, diags, 0, false); err != nil {
		t.Fatal(err)
	}
	if len(diags) != len(want) {
		t.Fatalf("got %d diagnostics, want %d:\n%s", len(diags), len(want), text.String())
	}
	for i, w := range want {
		d := diags[i]
		if d.Severity != hcl.DiagError {
			t.Errorf("diagnostic %d %q is not an error", i, d.Summary)
		}
		if !strings.Contains(d.Summary, w.summary) {
			t.Errorf("diagnostic %d summary = %q, want %q", i, d.Summary, w.summary)
		}
		if !strings.Contains(d.Detail, w.detail) {
			t.Errorf("diagnostic %d detail = %q, want it to contain %q", i, d.Detail, w.detail)
		}
		if d.Subject == nil {
			t.Errorf("diagnostic %d %q has no source range", i, d.Summary)
			continue
		}
		if d.Subject.Filename != path || d.Subject.Start.Line != w.line {
			t.Errorf("diagnostic %d %q at %s:%d, want %s:%d", i, d.Summary, d.Subject.Filename, d.Subject.Start.Line, path, w.line)
		}
	}
	if t.Failed() {
		t.Logf("all diagnostics:\n%s", text.String())
	}
}

func TestWriteDiagnosticsShowsSnippet(t *testing.T) {
	dir := filepath.Join("testdata", "invalid")
	_, files, diags := load(t, dir, "unknown_provider.hcl")
	var b bytes.Buffer
	if err := WriteDiagnostics(&b, files, diags, 80, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Error: Unknown provider type",
		"on testdata/invalid/unknown_provider.hcl line 4",
		`provider "shh" { user = "deploy" }`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	p, files, diags := Load(Options{Dir: t.TempDir()})
	if p != nil {
		t.Errorf("project = %+v, want nil", p)
	}
	if files == nil {
		t.Fatal("files is nil")
	}
	if len(diags) != 1 || diags[0].Summary != "Configuration file not found" || !strings.Contains(diags[0].Detail, "plat init") {
		t.Fatalf("diags = %v", diags)
	}
}

func TestLoadWithoutProviderSchemas(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plat.hcl"), `
app "a" {}
environment "x" {
  provider "anything" {
    n    = 2
    list = ["a", 1]
  }
  cluster "web" { count = 1 }
}
`)
	p, _, diags := Load(Options{Dir: dir})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	eq(t, "values", p.Environment("x").Provider.Values, map[string]any{"n": 2.0, "list": []any{"a", 1.0}})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A scheduling provider's environment declares no hosts; any other still
// must.
func TestScheduledEnvironmentHasNoHosts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plat.hcl"), `
app "a" {}
environment "cluster" {
  provider "swarm" {}
}
environment "dev" {
  provider "ssh" {}
}
`)
	providers := testProviders()
	providers["swarm"] = platform.Schema{Scheduled: true}
	_, _, diags := Load(Options{Dir: dir, Providers: providers})
	if len(diags) != 1 || diags[0].Summary != "Missing cluster block" || !strings.Contains(diags[0].Detail, `"dev"`) {
		t.Fatalf("want one missing-cluster error, for dev: %v", diags)
	}
}
