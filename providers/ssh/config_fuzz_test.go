package ssh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzResolve: any ssh_config either fails to load with an error naming
// the file, or resolves every alias to an endpoint with a host and a port
// in range, or an error naming the host.
func FuzzResolve(f *testing.F) {
	f.Add("Host web1\n  HostName 10.0.0.5\n  Port 2201\n  User deploy\n  IdentityFile ~/.ssh/web_%r\n  ProxyJump bastion, ops@jump2:2022\n", "web1")
	f.Add("Host *.internal\n  HostName %h.example.org\n  UserKnownHostsFile ~/kh1 ~/kh2\nHost *\n  ConnectTimeout 3\n", "db.internal")
	f.Add("Match host x\n  Port 0\nHost y\n  Port 99999\n  ProxyJump y\n", "y")
	f.Add("Host \"quoted name\"\n  HostName [::1]\n  Port=22\n", "quoted name")
	f.Fuzz(func(t *testing.T, cfg, alias string) {
		if alias == "" || strings.ContainsAny(alias, "\x00") {
			return
		}
		file := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := loadSSHConfig(file)
		if err != nil {
			if !strings.Contains(err.Error(), "ssh config") {
				t.Fatalf("load error does not say it is the ssh config: %v", err)
			}
			return
		}
		e, err := resolve(HostSpec{Alias: alias, ConfigFile: file}, c)
		if err != nil {
			return
		}
		if e.hostname == "" || e.port <= 0 || e.port > 65535 {
			t.Fatalf("resolved %q to host %q port %d", alias, e.hostname, e.port)
		}
		for _, j := range e.jumps {
			if _, err := resolveJump(j, HostSpec{Alias: alias, ConfigFile: file}, c); err != nil {
				continue
			}
		}
	})
}
