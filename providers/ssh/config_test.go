package ssh

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config")
	cfg := `
Host web1
  HostName 10.0.0.5
  Port 2201
  User deploy
  IdentityFile ~/.ssh/web_%r
  ProxyJump bastion,ops@jump2:2022
  ServerAliveInterval 7

Host bastion
  HostName bastion.example.org
  User jumper
  ProxyJump ignored-for-hops

Host legacy
  ProxyCommand nc %h %p

Host *.internal
  HostName %h.example.org
  StrictHostKeyChecking accept-new
  HashKnownHosts yes
  UserKnownHostsFile ~/kh1 ~/kh2

Host *
  ConnectTimeout 3
`
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadSSHConfig(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()

	e, err := resolve(HostSpec{Alias: "web1", ConfigFile: cfgFile}, c)
	if err != nil {
		t.Fatal(err)
	}
	if e.hostname != "10.0.0.5" || e.port != 2201 || e.user != "deploy" || e.hostKeyAddr != "10.0.0.5:2201" {
		t.Errorf("web1 = %+v", e)
	}
	if len(e.identities) != 1 || e.identities[0].path != filepath.Join(home, ".ssh/web_deploy") {
		t.Errorf("identities = %+v", e.identities)
	}
	if !slices.Equal(e.jumps, []string{"bastion", "ops@jump2:2022"}) {
		t.Errorf("jumps = %q", e.jumps)
	}
	if e.connectTimeout != 3*time.Second || e.keepAlive != 7*time.Second || e.trust != TrustStrict {
		t.Errorf("timeouts/trust = %s %s %s", e.connectTimeout, e.keepAlive, e.trust)
	}
	if e.knownHostsW != filepath.Join(home, ".ssh/known_hosts") {
		t.Errorf("known_hosts = %q", e.knownHosts)
	}

	// Explicit fields win over the config.
	e, err = resolve(HostSpec{Alias: "web1", HostName: "10.9.9.9", Port: 22, User: "ops", IdentityFiles: []string{"/k"}, KnownHostsFile: "/kh", Trust: TrustAcceptNew, KeepAlive: -1}, c)
	if err != nil {
		t.Fatal(err)
	}
	if e.hostname != "10.9.9.9" || e.port != 22 || e.user != "ops" || e.identities[0].path != "/k" || !e.identities[0].explicit ||
		!slices.Equal(e.knownHosts, []string{"/kh"}) || e.trust != TrustAcceptNew || e.keepAlive != -1 || e.hostKeyAddr != "10.9.9.9:22" {
		t.Errorf("overridden = %+v", e)
	}

	e, err = resolve(HostSpec{Alias: "db.internal"}, c)
	if err != nil {
		t.Fatal(err)
	}
	if e.hostname != "db.internal.example.org" || e.port != 22 || e.trust != TrustAcceptNew || !e.hashKnownHosts ||
		!slices.Equal(e.knownHosts, []string{filepath.Join(home, "kh1"), filepath.Join(home, "kh2"), "/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}) {
		t.Errorf("wildcard = %+v", e)
	}

	hop, err := resolveJump("bastion", HostSpec{Alias: "web1", User: "deploy"}, c)
	if err != nil {
		t.Fatal(err)
	}
	if hop.hostname != "bastion.example.org" || hop.user != "jumper" || hop.port != 22 || hop.jumps != nil {
		t.Errorf("bastion hop = %+v", hop)
	}
	hop, err = resolveJump("ops@jump2:2022", HostSpec{Alias: "web1"}, c)
	if err != nil {
		t.Fatal(err)
	}
	if hop.hostname != "jump2" || hop.user != "ops" || hop.port != 2022 {
		t.Errorf("jump2 hop = %+v", hop)
	}

	if e, err := resolve(HostSpec{Alias: "legacy"}, c); err != nil || e.proxyCommand != "nc %h %p" || e.proxyCommandLine() != "nc legacy 22" {
		t.Errorf("ProxyCommand: %+v, err = %v", e, err)
	}
	if _, err := resolve(HostSpec{Alias: "web1", Trust: "no"}, c); err == nil {
		t.Error("trust = no accepted")
	}
	// A missing config file is fine; a broken one is an error naming it.
	if _, err := loadSSHConfig(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing config: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("Match\n"), 0o600)
	if _, err := loadSSHConfig(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("broken config: %v", err)
	}
}
