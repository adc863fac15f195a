package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestSSHConfigGolden resolves testdata/sshconfig's hosts with a fixed
// HOME and agent socket; the project directory is shown as $PROJECT.
func TestSSHConfigGolden(t *testing.T) {
	t.Setenv("HOME", "/home/ada")
	t.Setenv("SSH_AUTH_SOCK", "/run/user/1000/agent.sock")
	dir, err := filepath.Abs("testdata/sshconfig")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain(t, "-C", dir, "ssh-config", "prod")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden(t, "ssh-config-prod.golden", strings.ReplaceAll(out, dir, "$PROJECT"))

	code, out, errs = runMain(t, "-C", dir, "ssh-config", "prod", "web2")
	if code != 0 || !strings.HasPrefix(out, "host web2\nhostname web2.prod.example.com\nport 2202\nuser admin\n") || strings.Contains(out, "web1") {
		t.Errorf("one host: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	code, out, errs = runMain(t, "-C", dir, "--json", "ssh-config", "prod", "db1")
	var doc struct {
		Environment string           `json:"environment"`
		Hosts       []map[string]any `json:"hosts"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Hosts) != 1 || doc.Environment != "prod" {
		t.Fatalf("--json: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	hosts := doc.Hosts
	for k, want := range map[string]any{
		"name": "db1", "host": "db1.internal", "hostname": "10.0.0.5", "port": 22.0, "user": "ada",
		"host_key_alias": "db-primary", "proxy_command": "ssh -W %h:%p bastion", "identity_agent": "/home/ada/.ssh/agent.sock",
		"strict_host_key_checking": "accept-new", "connect_timeout": 7.0, "server_alive_count_max": 5.0,
	} {
		if hosts[0][k] != want {
			t.Errorf("--json %s = %#v, want %#v", k, hosts[0][k], want)
		}
	}
	if certs, ok := hosts[0]["certificate_files"].([]any); !ok || len(certs) != 0 {
		t.Errorf("--json certificate_files = %#v, want []", hosts[0]["certificate_files"])
	}
	if ids, _ := hosts[0]["identity_files"].([]any); len(ids) != 2 || ids[0] != filepath.Join(dir, "keys", "deploy") {
		t.Errorf("--json identity_files = %#v", hosts[0]["identity_files"])
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"ssh-config", "prod", "web9"}, `environment prod has no host "web9"; did you mean "web1"? (its hosts: web1, web2, db1)`},
		{[]string{"ssh-config", "laptop"}, "environment laptop uses the local provider: plat ssh-config shows ssh environments only"},
		{[]string{"ssh-config", "moon"}, `unknown environment "moon"`},
		{[]string{"ssh-config"}, "takes an environment and optionally one host"},
		{[]string{"ssh-config", "prod", "web1", "web2"}, "takes an environment and optionally one host"},
	} {
		code, _, errs := runMain(t, append([]string{"-C", dir}, tt.args...)...)
		if code != exitUsage || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 saying %q", tt.args, code, errs, tt.want)
		}
	}
}
