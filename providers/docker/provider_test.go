package docker

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
)

func TestUpTwoHosts(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1", "web2")
	p := New(Config{Publish: true})
	resp := up(t, p, app, env)
	if got := states(resp.Machines); got["web1"] != "running" || got["web2"] != "running" {
		t.Fatalf("machines after up = %v", resp.Machines)
	}
	ctx := testCtx(t)
	netName := NetworkName(app.Name, env.Name)
	net, err := c.api.NetworkInspect(ctx, netName, client.NetworkInspectOptions{})
	if err != nil {
		t.Fatalf("network %s: %v", netName, err)
	}
	if net.Network.Labels[LabelEnv] != env.Name || net.Network.Labels[LabelManaged] != "true" {
		t.Errorf("network labels = %v", net.Network.Labels)
	}
	for _, h := range []string{"web1", "web2"} {
		name := ContainerName(app.Name, env.Name, h)
		ins, err := c.api.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatalf("container %s: %v", name, err)
		}
		ct := ins.Container
		want := map[string]string{LabelApp: app.Name, LabelEnv: env.Name, LabelHost: h, LabelRoles: "web", LabelManaged: "true"}
		for k, v := range want {
			if ct.Config.Labels[k] != v {
				t.Errorf("%s label %s = %q, want %q", name, k, ct.Config.Labels[k], v)
			}
		}
		if ct.Config.Hostname != h {
			t.Errorf("%s hostname = %q, want %q", name, ct.Config.Hostname, h)
		}
		if _, ok := ct.NetworkSettings.Networks[netName]; !ok {
			t.Errorf("%s is not on %s: %v", name, netName, ct.NetworkSettings.Networks)
		}
	}

	tg := targets(t, p, app, env)
	for _, h := range []string{"web1", "web2"} {
		x := tg[h]
		if x == nil {
			t.Fatalf("no target %s", h)
		}
		if x.DeployTo != "/srv/plattest" || x.Port != 8000 || x.HealthAddr != x.Address+":8000" {
			t.Errorf("target %s = deploy_to %q port %d health %q address %q", h, x.DeployTo, x.Port, x.HealthAddr, x.Address)
		}
		if !strings.HasPrefix(x.PublicURL, "http://127.0.0.1:") {
			t.Errorf("target %s public URL = %q", h, x.PublicURL)
		}
		if len(x.Roles) != 1 || x.Roles[0] != "web" {
			t.Errorf("target %s roles = %v", h, x.Roles)
		}
	}
	// Hosts reach each other by name.
	var out bytes.Buffer
	err = tg["web1"].Transport.Run(ctx, &platform.Command{Args: []string{"getent", "hosts", "web2"}, Stdout: &out})
	if err != nil {
		t.Fatalf("getent hosts web2 on web1: %v", err)
	}
	if f := strings.Fields(out.String()); len(f) < 2 || f[0] != tg["web2"].Address {
		t.Errorf("web1 resolves web2 as %q, want %s", out.String(), tg["web2"].Address)
	}
	out.Reset()
	if err := tg["web2"].Transport.Run(ctx, &platform.Command{Args: []string{"hostname"}, Stdout: &out}); err != nil || out.String() != "web2\n" {
		t.Errorf("hostname on web2 = %q, %v", out.String(), err)
	}
}

func TestUpIsIdempotent(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1")
	p := New(Config{})
	up(t, p, app, env)
	first := containerIDs(t, c, env.Name)
	resp := up(t, p, app, env)
	if states(resp.Machines)["web1"] != "running" {
		t.Fatalf("machines after second up = %v", resp.Machines)
	}
	second := containerIDs(t, c, env.Name)
	if len(first) != 1 || len(second) != 1 || first[0] != second[0] {
		t.Fatalf("second up changed the containers: %v -> %v", first, second)
	}
}

func containerIDs(t *testing.T, c *Client, env string) []string {
	t.Helper()
	res, err := c.api.ContainerList(testCtx(t), client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", LabelEnv+"="+env)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range res.Items {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestRemovedContainerIsMissingAndRecreated(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1", "web2")
	p := New(Config{})
	up(t, p, app, env)
	ctx := testCtx(t)
	name := ContainerName(app.Name, env.Name, "web2")
	if _, err := c.api.ContainerRemove(ctx, name, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	req := &platform.TargetsRequest{App: app, Env: env}
	ms, err := p.Machines(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := states(ms); got["web1"] != "running" || got["web2"] != "missing" {
		t.Fatalf("machines = %v, want web1 running, web2 missing", ms)
	}
	_, err = p.Targets(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "host web2") || !strings.Contains(err.Error(), "plat up "+env.Name) {
		t.Fatalf("targets with a removed container: err = %v", err)
	}
	resp := up(t, p, app, env)
	if got := states(resp.Machines); got["web1"] != "running" || got["web2"] != "running" {
		t.Fatalf("machines after up = %v", resp.Machines)
	}
	tg := targets(t, p, app, env)
	if err := tg["web2"].Transport.Run(ctx, &platform.Command{Args: []string{"true"}}); err != nil {
		t.Fatalf("run on recreated web2: %v", err)
	}
}

func TestDownAndDestroy(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1", "web2")
	p := New(Config{})
	up(t, p, app, env)
	ctx := testCtx(t)

	down, err := p.Down(ctx, &platform.DownRequest{App: app, Env: env})
	if err != nil {
		t.Fatalf("down: %v", err)
	}
	if got := states(down.Machines); got["web1"] != "stopped" || got["web2"] != "stopped" {
		t.Fatalf("machines after down = %v", down.Machines)
	}
	_, err = p.Targets(ctx, &platform.TargetsRequest{App: app, Env: env, Hosts: []string{"web1"}})
	if err == nil || !strings.Contains(err.Error(), "host web1") || !strings.Contains(err.Error(), "plat up") {
		t.Fatalf("targets of a stopped environment: err = %v", err)
	}
	// Up starts stopped containers again.
	if got := states(up(t, p, app, env).Machines); got["web1"] != "running" || got["web2"] != "running" {
		t.Fatalf("machines after up = %v", got)
	}

	down, err = p.Down(ctx, &platform.DownRequest{App: app, Env: env, Destroy: true})
	if err != nil {
		t.Fatalf("down --destroy: %v", err)
	}
	if got := states(down.Machines); got["web1"] != "missing" || got["web2"] != "missing" {
		t.Fatalf("machines after destroy = %v", down.Machines)
	}
	if ids := containerIDs(t, c, env.Name); len(ids) != 0 {
		t.Errorf("containers left after destroy: %v", ids)
	}
	nets, err := c.api.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("label", LabelEnv+"="+env.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(nets.Items) != 0 {
		t.Errorf("networks left after destroy: %v", nets.Items)
	}
	// Destroying nothing is not an error.
	if _, err := p.Down(ctx, &platform.DownRequest{App: app, Env: env, Destroy: true}); err != nil {
		t.Errorf("second destroy: %v", err)
	}
}

func TestMissingImage(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1")
	p := New(Config{Image: "plat/no-such-image:test"})
	_, err := p.Up(testCtx(t), &platform.UpRequest{App: app, Env: env})
	if !errors.Is(err, ErrImageNotFound) || !strings.Contains(err.Error(), "plat/no-such-image:test") {
		t.Fatalf("up with a missing image: err = %v", err)
	}
	if ids := containerIDs(t, c, env.Name); len(ids) != 0 {
		t.Errorf("up with a missing image created containers: %v", ids)
	}
	err = c.checkImage(testCtx(t), "plat/base:no-such-tag")
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("checkImage: %v", err)
	}
}

func TestUnreachableDaemon(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Connect(ctx, "unix:///nonexistent/plat-docker.sock")
	if err == nil {
		t.Fatal("connect to a missing socket succeeded")
	}
	want := "cannot reach the Docker daemon at unix:///nonexistent/plat-docker.sock: is it running? (DOCKER_HOST="
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	p := New(Config{DockerHost: "unix:///nonexistent/plat-docker.sock"})
	env := &platform.Environment{Name: "x", Clusters: []*platform.Cluster{{Name: "web", Hosts: []*platform.Host{{Name: "web1"}}}}}
	_, err = p.Machines(ctx, &platform.TargetsRequest{App: &platform.App{Name: "a"}, Env: env})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Docker daemon") {
		t.Fatalf("machines: err = %v", err)
	}
}

func TestUpRefusesForeignContainer(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1")
	ctx := testCtx(t)
	name := ContainerName(app.Name, env.Name, "web1")
	// A container with plat's name but not plat's labels (only plat.env,
	// so the test cleanup still finds it).
	_, err := c.api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:   name,
		Config: &container.Config{Image: DefaultImage, Labels: map[string]string{LabelEnv: env.Name}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{}).Up(ctx, &platform.UpRequest{App: app, Env: env})
	if err == nil || !strings.Contains(err.Error(), "plat did not create it") || !strings.Contains(err.Error(), "host web1") {
		t.Fatalf("up over a foreign container: err = %v", err)
	}
}

func TestConcurrentUp(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1", "web2")
	p := New(Config{})
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := p.Up(testCtx(t), &platform.UpRequest{App: app, Env: env})
			errs <- err
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Errorf("concurrent up: %v", err)
		}
	}
	if ids := containerIDs(t, c, env.Name); len(ids) != 2 {
		t.Errorf("containers after two concurrent ups = %d, want 2", len(ids))
	}
	nets, err := c.api.NetworkList(testCtx(t), client.NetworkListOptions{Filters: client.Filters{}.Add("label", LabelEnv+"="+env.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(nets.Items) != 1 {
		t.Errorf("networks after two concurrent ups = %d, want 1", len(nets.Items))
	}
}
