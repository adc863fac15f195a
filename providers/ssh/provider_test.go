package ssh

import (
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// fleetEnv is an environment whose hosts are the fleet's, reached by
// address with a per-host port var, as hosts on different ports are.
func fleetEnv(f *sshtest.Fleet) *platform.Environment {
	c := &platform.Cluster{Name: "web", Roles: []string{"app"}}
	for i, h := range f.Hosts {
		c.Hosts = append(c.Hosts, &platform.Host{
			Name:     "web" + strconv.Itoa(i+1),
			Cluster:  "web",
			Roles:    []string{"app", "web"},
			Address:  h.Addr,
			DeployTo: h.Root,
			Vars:     map[string]string{"port": strconv.Itoa(h.Port)},
		})
	}
	return &platform.Environment{Name: "stage", Clusters: []*platform.Cluster{c}}
}

func newProvider(t *testing.T, values map[string]any) platform.Provider {
	t.Helper()
	p, err := Factory{}.New(platform.ProviderConfig{Type: "ssh", Values: values})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTargets(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 3)
	env := fleetEnv(f)
	env.Clusters[0].Hosts[1].Port = 9001
	app := &platform.App{Name: "shop", Health: &platform.HealthCheck{HTTP: "/up", Port: 7000}}
	p := newProvider(t, map[string]any{
		"user":            "root",
		"identity_file":   f.KeyFile,
		"known_hosts":     f.KnownHosts,
		"ssh_config":      filepath.Join(t.TempDir(), "none"),
		"connect_timeout": "5s",
	})
	// As the loader does: ports come from the model, resolved once.
	platform.ResolveHosts(app, env, Factory{}.Schema().Hosts)
	resp, err := p.Targets(t.Context(), &platform.TargetsRequest{App: app, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Targets) != 3 {
		t.Fatalf("%d targets", len(resp.Targets))
	}
	for i, tg := range resp.Targets {
		defer tg.Transport.Close()
		h := f.Hosts[i]
		if tg.Name != "web"+strconv.Itoa(i+1) || tg.Address != h.Addr || tg.DeployTo != h.Root {
			t.Errorf("target %d = %+v", i, tg)
		}
		if !slices.Equal(tg.Roles, []string{"web", "app"}) {
			t.Errorf("roles = %q, want cluster name then roles", tg.Roles)
		}
		wantPort := 7000
		if i == 1 {
			wantPort = 9001
		}
		if tg.Port != wantPort || tg.HealthAddr != "127.0.0.1:"+strconv.Itoa(wantPort) {
			t.Errorf("%s: port %d health %s, want %d", tg.Name, tg.Port, tg.HealthAddr, wantPort)
		}
		// Each transport reaches its own host.
		got := output(t, tg.Transport, "sh", "-c", `echo $SSH_CONNECTION`)
		if !strings.HasSuffix(strings.TrimSpace(got), h.Addr+" "+strconv.Itoa(h.Port)) {
			t.Errorf("%s: connected to %q, want %s:%d", tg.Name, got, h.Addr, h.Port)
		}
		if _, ok := tg.Transport.(platform.Dialer); !ok {
			t.Errorf("%s: transport is not a Dialer", tg.Name)
		}
	}

	// A subset, by name.
	resp, err = p.Targets(t.Context(), &platform.TargetsRequest{App: app, Env: env, Hosts: []string{"web3"}})
	if err != nil || len(resp.Targets) != 1 || resp.Targets[0].Name != "web3" {
		t.Fatalf("subset: %v %v", resp, err)
	}
	resp.Targets[0].Transport.Close()
	if _, err := p.Targets(t.Context(), &platform.TargetsRequest{Env: env, Hosts: []string{"web9"}}); err == nil || !strings.Contains(err.Error(), `no host "web9"; did you mean "web1"?`) {
		t.Fatalf("unknown host: %v", err)
	}
	// Asked in another order, the targets come in the environment's.
	resp, err = p.Targets(t.Context(), &platform.TargetsRequest{App: app, Env: env, Hosts: []string{"web3", "web1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range resp.Targets {
		tg.Transport.Close()
	}
	if len(resp.Targets) != 2 || resp.Targets[0].Name != "web1" || resp.Targets[1].Name != "web3" {
		t.Fatalf("order: %v", resp.Targets)
	}
}

func TestTargetsThroughSSHConfig(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 2)
	c := &platform.Cluster{Name: "app"}
	for _, h := range f.Hosts {
		c.Hosts = append(c.Hosts, &platform.Host{Name: h.Name, Cluster: "app", DeployTo: h.Root})
	}
	env := &platform.Environment{Name: "prod", Clusters: []*platform.Cluster{c}}
	platform.ResolveHosts(nil, env, Factory{}.Schema().Hosts)
	p := newProvider(t, map[string]any{"ssh_config": f.SSHConfig})
	resp, err := p.Targets(t.Context(), &platform.TargetsRequest{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range resp.Targets {
		defer tg.Transport.Close()
		if tg.Port != DefaultAppPort || tg.Address != tg.Name {
			t.Errorf("%+v", tg)
		}
		output(t, tg.Transport, "true")
	}
}

func TestTargetsNamesEveryFailingHost(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 3)
	env := fleetEnv(f)
	// web2: nothing listens on its port; web3: a port var that is no port.
	l, err := net.Listen("tcp", f.Hosts[1].Addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	env.Clusters[0].Hosts[1].Vars["port"] = strconv.Itoa(closed)
	env.Clusters[0].Hosts[2].Vars["port"] = "ssh"
	p := newProvider(t, map[string]any{
		"user":          "root",
		"identity_file": f.KeyFile,
		"known_hosts":   f.KnownHosts,
		"ssh_config":    filepath.Join(t.TempDir(), "none"),
	})
	resp, err := p.Targets(t.Context(), &platform.TargetsRequest{Env: env})
	if err == nil {
		for _, tg := range resp.Targets {
			tg.Transport.Close()
		}
		t.Fatal("Targets succeeded with two broken hosts")
	}
	var ce *ConnectError
	if !errors.As(err, &ce) || !slices.Equal(ce.Hosts, []string{"web2", "web3"}) {
		t.Fatalf("err = %v, want web2 and web3 failing", err)
	}
	msg := err.Error()
	for _, want := range []string{"2 of 3 hosts", "host web2:", "host web3:", `port = "ssh"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "host web1") {
		t.Errorf("error names the healthy host: %q", msg)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error does not wrap web2's connection refusal: %v", err)
	}
}

func TestFactoryConfig(t *testing.T) {
	schema := Factory{}.Schema()
	var names []string
	for _, a := range schema.Attributes {
		names = append(names, a.Name)
		if a.Name == "port" && a.Type != platform.TypeNumber {
			t.Errorf("port is %s", a.Type)
		}
	}
	want := []string{"user", "port", "identity_file", "known_hosts", "ssh_config", "trust", "become", "connect_timeout", "command_timeout", "server_alive_interval", "server_alive_count_max", "base_port", "host_dir"}
	if !slices.Equal(names, want) {
		t.Errorf("schema = %q, want %q", names, want)
	}
	for _, tt := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"bad trust", map[string]any{"trust": "yes"}, "trust"},
		{"bad duration", map[string]any{"connect_timeout": "10"}, "connect_timeout"},
		{"negative duration", map[string]any{"command_timeout": "-1s"}, "command_timeout"},
		{"bad port", map[string]any{"port": float64(70000)}, "port"},
		{"bad base_port", map[string]any{"base_port": float64(0)}, "base_port"},
		{"relative host_dir", map[string]any{"host_dir": "plat"}, "host_dir"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Factory{}.New(platform.ProviderConfig{Type: "ssh", Values: tt.values})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one about %s", err, tt.want)
			}
		})
	}
	if _, err := (Factory{}).New(platform.ProviderConfig{Type: "ssh", Values: map[string]any{
		"port": float64(2222), "trust": "accept-new", "connect_timeout": "3s", "command_timeout": "10m",
	}}); err != nil {
		t.Fatal(err)
	}
}
