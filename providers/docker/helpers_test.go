package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
)

// testClient connects to the local daemon and makes sure the base image
// exists (built once, then cached by tag). Without a daemon the test is
// skipped, except in CI where it fails.
func testClient(t *testing.T) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := Connect(ctx, "")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs a Docker daemon: %v", err)
		}
		t.Skipf("no Docker daemon: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := EnsureBase(ctx, c, BaseOptions{}); err != nil {
		if errors.Is(err, errCannotBuild) && os.Getenv("CI") != "true" {
			t.Skipf("no base image and cannot build it: %v", err)
		}
		t.Fatalf("base image: %v", err)
	}
	return c
}

// testEnv is an environment with a unique name (so its plat.env label is
// unique) and one cluster "web" of the given hosts. Cleanup removes every
// container and network carrying its labels, even when the test failed.
func testEnv(t *testing.T, c *Client, hosts ...string) (*platform.App, *platform.Environment) {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	app := &platform.App{Name: "plattest"}
	env := &platform.Environment{Name: "t" + hex.EncodeToString(b)}
	cl := &platform.Cluster{Name: "web"}
	for _, h := range hosts {
		cl.Hosts = append(cl.Hosts, &platform.Host{Name: h, Cluster: "web"})
	}
	env.Clusters = []*platform.Cluster{cl}
	platform.ResolveHosts(app, env, Factory{}.Schema().Hosts) // as the loader does
	t.Cleanup(func() { removeByLabel(t, c, env.Name) })
	return app, env
}

func removeByLabel(t *testing.T, c *Client, env string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := client.Filters{}.Add("label", LabelEnv+"="+env)
	ctrs, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Errorf("cleanup: list containers: %v", err)
	}
	for _, s := range ctrs.Items {
		if _, err := c.api.ContainerRemove(ctx, s.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("cleanup: remove container %s: %v", s.Names, err)
		}
	}
	nets, err := c.api.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Errorf("cleanup: list networks: %v", err)
	}
	for _, n := range nets.Items {
		if _, err := c.api.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			t.Errorf("cleanup: remove network %s: %v", n.Name, err)
		}
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// up brings env up with a provider of cfg and fails the test on error.
func up(t *testing.T, p *Provider, app *platform.App, env *platform.Environment) *platform.UpResponse {
	t.Helper()
	resp, err := p.Up(testCtx(t), &platform.UpRequest{App: app, Env: env, Progress: func(h, l string) { t.Logf("[%s] %s", h, l) }})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	return resp
}

// targets returns env's targets keyed by host; the transports are closed
// at cleanup.
func targets(t *testing.T, p *Provider, app *platform.App, env *platform.Environment) map[string]*platform.Target {
	t.Helper()
	resp, err := p.Targets(testCtx(t), &platform.TargetsRequest{App: app, Env: env})
	if err != nil {
		t.Fatalf("targets: %v", err)
	}
	out := map[string]*platform.Target{}
	for _, tg := range resp.Targets {
		out[tg.Name] = tg
		t.Cleanup(func() { tg.Transport.Close() })
	}
	return out
}

func states(ms []platform.MachineStatus) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		out[m.Host] = m.State
	}
	return out
}
