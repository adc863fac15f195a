package platform

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func testEnv() *Environment {
	return &Environment{Name: "prod", Clusters: []*Cluster{
		{Name: "web", Hosts: []*Host{
			{Name: "web1", Cluster: "web", Roles: []string{"app"}},
			{Name: "web2", Cluster: "web", Roles: []string{"app", "web", "canary"}, Port: 9001},
		}},
		{Name: "db", Hosts: []*Host{{Name: "db1", Cluster: "db", DeployTo: "/data/db1"}}},
	}}
}

func names(hs []*Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

func TestSelectHosts(t *testing.T) {
	env := testEnv()
	tests := []struct {
		hosts []string
		role  string
		want  []string
	}{
		{nil, "", []string{"web1", "web2", "db1"}},
		{[]string{"db1", "web1"}, "", []string{"web1", "db1"}}, // declared order
		{nil, "canary", []string{"web2"}},
		{nil, "web", []string{"web1", "web2"}}, // a cluster is a role
		{[]string{"db1", "web2"}, "app", []string{"web2"}},
	}
	for _, tt := range tests {
		got, err := SelectHosts(env, tt.hosts, tt.role)
		if err != nil || !slices.Equal(names(got), tt.want) {
			t.Errorf("SelectHosts(%v, %q) = %v, %v; want %v", tt.hosts, tt.role, names(got), err, tt.want)
		}
	}

	_, err := SelectHosts(env, []string{"web1", "wbe2"}, "")
	var uh *UnknownHostError
	if !errors.As(err, &uh) || err.Error() != `environment prod has no host "wbe2"; did you mean "web2"?` {
		t.Errorf("unknown host: %v", err)
	}
	_, err = SelectHosts(env, nil, "canray")
	var ur *UnknownRoleError
	if !errors.As(err, &ur) || err.Error() != `no host of prod has role "canray"; did you mean "canary"?` {
		t.Errorf("unknown role: %v", err)
	}
	if _, err := SelectHosts(env, []string{"db1"}, "canary"); !errors.As(err, &ur) {
		t.Errorf("a role none of the named hosts has: %v", err)
	}
}

func TestResolveHostsAndNewTarget(t *testing.T) {
	app := &App{Name: "shop", Health: &HealthCheck{HTTP: "/up", Port: 7000}}
	env := testEnv()
	env.DeployTo = "/srv/${host.name}"
	ResolveHosts(app, env, &HostDefaults{})
	hs := env.Hosts()
	if hs[0].Port != 7000 || hs[1].Port != 9001 || hs[2].Port != 7000 {
		t.Errorf("ports %d %d %d: want the health port unless declared", hs[0].Port, hs[1].Port, hs[2].Port)
	}
	if hs[0].DeployTo != "/srv/shop" || hs[2].DeployTo != "/data/db1" || hs[0].Address != "web1" {
		t.Errorf("deploy_to %q %q, address %q", hs[0].DeployTo, hs[2].DeployTo, hs[0].Address)
	}
	before := *hs[0]
	ResolveHosts(app, env, &HostDefaults{PortBase: "base_port", PortBaseDefault: 1})
	if hs[0].Port != before.Port {
		t.Errorf("not idempotent: port %d, then %d", before.Port, hs[0].Port)
	}

	tg := NewTarget(hs[1])
	if !slices.Equal(tg.Roles, []string{"web", "app", "canary"}) || tg.Port != 9001 || tg.HealthAddr != "127.0.0.1:9001" || tg.Address != "web2" || tg.Transport != nil {
		t.Errorf("target %+v", tg)
	}

	// Hosts that share a machine count up from base_port, in order.
	local := testEnv()
	local.Provider = ProviderConfig{Type: "local", Values: map[string]any{"base_port": 9100.0}}
	ResolveHosts(app, local, &HostDefaults{PortBase: "base_port", PortBaseDefault: 8100, OwnDeployTo: true})
	hs = local.Hosts()
	if hs[0].Port != 9100 || hs[1].Port != 9001 || hs[2].Port != 9102 || hs[0].DeployTo != "" {
		t.Errorf("local ports %d %d %d, deploy_to %q", hs[0].Port, hs[1].Port, hs[2].Port, hs[0].DeployTo)
	}

	// A host's port registry (ssh) gives the port when none is named.
	reg := testEnv()
	ResolveHosts(&App{Name: "shop"}, reg, &HostDefaults{PortFromHost: true})
	if reg.Hosts()[0].Port != 0 || reg.Hosts()[1].Port != 9001 {
		t.Errorf("registry ports %d %d", reg.Hosts()[0].Port, reg.Hosts()[1].Port)
	}
	reg = testEnv()
	ResolveHosts(app, reg, &HostDefaults{PortFromHost: true})
	if reg.Hosts()[0].Port != 7000 {
		t.Errorf("the health port is named: %d", reg.Hosts()[0].Port)
	}

	// Without HostDefaults (a protocol v1 plugin) ports stay as declared.
	plugin := testEnv()
	ResolveHosts(app, plugin, nil)
	if plugin.Hosts()[0].Port != 0 || plugin.Hosts()[0].DeployTo != "/srv/shop" {
		t.Errorf("plugin host %+v", plugin.Hosts()[0])
	}
}

func TestFillDefaults(t *testing.T) {
	app := &App{Name: "a", Health: &HealthCheck{HTTP: "/up", Retries: 3}}
	p := &Project{App: app, Environments: []*Environment{{Name: "x", Rollout: Rollout{DrainTimeout: time.Second}}, {Name: "y"}}}
	FillDefaults(p)
	FillDefaults(p)
	x, y := p.Environments[0], p.Environments[1]
	if x.Rollout.DrainTimeout != time.Second || y.Rollout.DrainTimeout != DefaultDrainTimeout {
		t.Errorf("drain %v %v", x.Rollout.DrainTimeout, y.Rollout.DrainTimeout)
	}
	if y.KeepReleases != DefaultKeepReleases || y.Processes != DefaultProcesses || y.Rollout.OnFailure != OnFailureRollback ||
		y.Rollout.Restart != RestartStopStart || !slices.Equal(y.Rollout.Stages, []string{DefaultStage}) {
		t.Errorf("policy %+v", y)
	}
	h := y.Rollout.Health
	if h == nil || h == app.Health || h.Retries != 3 || h.Timeout != DefaultHealthTimeout || h.Interval != DefaultHealthInterval {
		t.Errorf("rollout health %+v (a copy of the app's, filled)", h)
	}
	if got := ListenTimeout(h); got != 3*DefaultHealthInterval+DefaultHealthTimeout {
		t.Errorf("listen timeout %v", got)
	}
	if ListenTimeout(nil) != DefaultListenTimeout {
		t.Error("listen timeout without a health check")
	}
}

func TestWholeNumber(t *testing.T) {
	c := ProviderConfig{Type: "local", Values: map[string]any{"a": 8100.0, "b": 8100.5, "c": 70000.0, "d": "x"},
		Where: map[string]string{"b": "plat.hcl:3:5"}}
	if n, err := c.WholeNumber("a", 1, 1, 65000); n != 8100 || err != nil {
		t.Errorf("a: %d %v", n, err)
	}
	if n, err := c.WholeNumber("unset", 42, 1, 65000); n != 42 || err != nil {
		t.Errorf("unset: %d %v", n, err)
	}
	if _, err := c.WholeNumber("b", 1, 1, 65000); err == nil || err.Error() != "plat.hcl:3:5: provider local: b = 8100.5: want a whole number from 1 to 65000" {
		t.Errorf("b: %v", err)
	}
	for _, k := range []string{"c", "d"} {
		if _, err := c.WholeNumber(k, 1, 1, 65000); err == nil {
			t.Errorf("%s: no error", k)
		}
	}
}
