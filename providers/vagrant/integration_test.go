package vagrant

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
)

func twoHostEnv() (*platform.App, *platform.Environment) {
	app, env := &platform.App{Name: "demo"}, &platform.Environment{
		Name: "laptop",
		Clusters: []*platform.Cluster{{Name: "web", Hosts: []*platform.Host{
			{Name: "web1", Cluster: "web"},
			{Name: "web2", Cluster: "web", Roles: []string{"worker"}},
		}}},
	}
	platform.ResolveHosts(app, env, Factory{}.Schema().Hosts) // as the loader does
	return app, env
}

func run(ctx context.Context, t *testing.T, tr platform.Transport, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := tr.Run(ctx, &platform.Command{Args: args, Stdout: &out, Stderr: &errb}); err != nil {
		t.Fatalf("run %q: %v (stderr %q)", args, err, errb.String())
	}
	return out.String()
}

func states(ms []platform.MachineStatus) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		out[m.Host] = m.State
	}
	return out
}

// TestVagrantDocker drives two real machines through Vagrant's docker
// provider in one up/destroy cycle (every vagrant command costs a second or
// more of Ruby start-up): plat's provider conformance suite, with
// Vagrant-specific steps woven in: progress lines of a real up, hostnames
// and deploy_to over SSH, host keys recorded and a changed one refused,
// halt, a machine destroyed behind plat's back and re-created, and after
// destroy, nothing left.
func TestVagrantDocker(t *testing.T) {
	requireVagrant(t)
	requireImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	// A space in the path: Vagrant quotes it in ssh-config, plat must
	// read it back.
	stateDir := filepath.Join(t.TempDir(), "my project", ".plat")
	app, env := twoHostEnv()
	vdir := filepath.Join(stateDir, "vagrant", env.Name)
	c1, c2 := containerName(stateDir, env.Name, "web1"), containerName(stateDir, env.Name, "web2")
	cleanupVagrant(t, vdir, c1, c2)

	cfg := platform.ProviderConfig{Type: "vagrant", Values: map[string]any{}}
	prov, err := Factory{}.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := prov.(*Provider)
	treq := &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir}

	checkTargets := func(t *testing.T) {
		t.Helper()
		resp, err := p.Targets(ctx, treq)
		if err != nil {
			t.Fatalf("targets: %v", err)
		}
		defer func() {
			for _, tg := range resp.Targets {
				tg.Transport.Close()
			}
		}()
		if len(resp.Targets) != 2 || resp.Targets[0].Name != "web1" || resp.Targets[1].Name != "web2" {
			t.Fatalf("targets = %+v", resp.Targets)
		}
		for _, tg := range resp.Targets {
			if got := run(ctx, t, tg.Transport, "echo", "hello", "world"); got != "hello world\n" {
				t.Errorf("%s: echo = %q", tg.Name, got)
			}
			if got := strings.TrimSpace(run(ctx, t, tg.Transport, "hostname")); got != tg.Name {
				t.Errorf("%s: hostname = %q", tg.Name, got)
			}
			if tg.DeployTo != "/srv/demo" || tg.Port != DefaultPort || tg.HealthAddr != "127.0.0.1:8000" {
				t.Errorf("%s: deploy_to %q port %d health %q", tg.Name, tg.DeployTo, tg.Port, tg.HealthAddr)
			}
			// deploy_to was made for the login user.
			if got := run(ctx, t, tg.Transport, "stat", "-c", "%U", tg.DeployTo); got != "vagrant\n" {
				t.Errorf("%s: %s belongs to %q", tg.Name, tg.DeployTo, got)
			}
			// The health check dials through the SSH connection: sshd
			// listens on the machine's loopback.
			d, ok := tg.Transport.(platform.Dialer)
			if !ok {
				t.Fatalf("%s: transport is not a Dialer", tg.Name)
			}
			conn, err := d.DialContext(ctx, "tcp", "127.0.0.1:22")
			if err != nil {
				t.Fatalf("%s: dial through ssh: %v", tg.Name, err)
			}
			banner, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if !strings.HasPrefix(banner, "SSH-2.0-") {
				t.Errorf("%s: banner through the tunnel = %q", tg.Name, banner)
			}
		}
		if !slices.Equal(resp.Targets[1].Roles, []string{"web", "worker"}) {
			t.Errorf("web2 roles = %q", resp.Targets[1].Roles)
		}
	}

	type step struct {
		name string
		run  func(t *testing.T)
	}
	first := []step{{"vagrant/up shows per-machine progress", func(t *testing.T) {
		var mu sync.Mutex
		progress := map[string][]string{}
		up, err := p.Up(ctx, &platform.UpRequest{App: app, Env: env, StateDir: stateDir, Progress: func(host, line string) {
			mu.Lock()
			defer mu.Unlock()
			progress[host] = append(progress[host], line)
		}})
		if err != nil {
			t.Fatalf("up: %v", err)
		}
		if got := states(up.Machines); got["web1"] != "running" || got["web2"] != "running" || len(got) != 2 {
			t.Fatalf("up machines = %+v", up.Machines)
		}
		for _, h := range []string{"web1", "web2"} {
			if !slices.Contains(progress[h], "Machine booted and ready!") {
				t.Errorf("progress of %s lacks the boot line:\n%s", h, strings.Join(progress[h], "\n"))
			}
		}
		if !containerExists(t, c1) || !containerExists(t, c2) {
			t.Fatalf("containers %s, %s not found", c1, c2)
		}
		if st, err := os.Stat(filepath.Join(vdir, keyFile)); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("private key: %v, mode %v", err, st.Mode())
		}
	}}}
	middle := []step{
		{"vagrant/machines are running", func(t *testing.T) {
			ms, err := p.Machines(ctx, treq)
			if err != nil {
				t.Fatal(err)
			}
			if got := states(ms); got["web1"] != "running" || got["web2"] != "running" {
				t.Fatalf("machines = %+v", ms)
			}
		}},
		{"vagrant/targets run commands over ssh", checkTargets},
		{"vagrant/host keys are recorded by machine name and a changed one is refused", func(t *testing.T) {
			khPath := filepath.Join(vdir, "known_hosts")
			kh, err := os.ReadFile(khPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"web1", "web2"} {
				if !knownHostsHas(kh, h) {
					t.Errorf("known_hosts has no entry for %s:\n%s", h, kh)
				}
			}
			// Swap web2's entry for web1's key.
			if err := os.WriteFile(khPath, forgeKnownHosts(t, kh, "web2", "web1"), 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(khPath, kh, 0o600)
			_, err = p.Targets(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir, Hosts: []string{"web2"}})
			if err == nil || !strings.Contains(err.Error(), "web2") {
				t.Fatalf("targets with a changed host key: err = %v, want a refusal naming web2", err)
			}
		}},
		{"vagrant/halt, drop a host, add it back", func(t *testing.T) {
			if _, err := p.Down(ctx, &platform.DownRequest{App: app, Env: env, StateDir: stateDir}); err != nil {
				t.Fatalf("down: %v", err)
			}
			ms, err := p.Machines(ctx, treq)
			if err != nil {
				t.Fatal(err)
			}
			if got := states(ms); got["web1"] != "stopped" || got["web2"] != "stopped" {
				t.Fatalf("machines after halt = %+v", ms)
			}
			_, err = p.Targets(ctx, treq)
			if err == nil || !strings.Contains(err.Error(), "host web1: vagrant machine is stopped, not running; host web2: vagrant machine is stopped") {
				t.Fatalf("targets of stopped machines: err = %v", err)
			}

			// Up with web2 gone from the environment: web1's container
			// restarts (with the host key known_hosts has), web2's machine
			// is destroyed rather than left running unmanaged.
			small := &platform.Environment{Name: env.Name, Clusters: []*platform.Cluster{{Name: "web", Hosts: env.Clusters[0].Hosts[:1]}}}
			if _, err := p.Up(ctx, &platform.UpRequest{App: app, Env: small, StateDir: stateDir}); err != nil {
				t.Fatalf("up with web1 only: %v", err)
			}
			if containerExists(t, c2) {
				t.Fatal("web2's container survived its removal from the environment")
			}
			resp, err := p.Targets(ctx, &platform.TargetsRequest{App: app, Env: small, StateDir: stateDir})
			if err != nil {
				t.Fatalf("targets after restart: %v", err)
			}
			for _, tg := range resp.Targets {
				tg.Transport.Close()
			}

			// web2 comes back as a new machine with a new host key; Up
			// dropped the stale entry, so it is learned again.
			if _, err := p.Up(ctx, &platform.UpRequest{App: app, Env: env, StateDir: stateDir}); err != nil {
				t.Fatalf("up with web2 again: %v", err)
			}
			checkTargets(t)
		}},
	}
	last := []step{{"vagrant/destroy leaves nothing", func(t *testing.T) {
		if containerExists(t, c1) || containerExists(t, c2) {
			t.Fatal("containers survived destroy")
		}
		if _, err := os.Stat(vdir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("state %s survived destroy: %v", vdir, err)
		}
		ms, err := p.Machines(ctx, treq)
		if err != nil {
			t.Fatal(err)
		}
		if got := states(ms); got["web1"] != "missing" || got["web2"] != "missing" {
			t.Fatalf("machines after destroy = %+v", ms)
		}
	}}}

	// The conformance suite brings the machines up (again: idempotent),
	// runs the transport checks on every target, destroys them (twice).
	// Ours go before its first destroy.
	suite := platformtest.ProviderChecks(platformtest.ProviderHarness{
		Factory: Factory{}, Config: cfg, Env: env, App: app, StateDir: stateDir,
	})
	down := slices.IndexFunc(suite, func(c platformtest.Check) bool { return c.Name == "down" })
	if down < 0 {
		t.Fatal("the provider suite has no \"down\" check")
	}
	var steps []step
	steps = append(steps, first...)
	for i, c := range suite {
		if i == down {
			steps = append(steps, middle...)
		}
		steps = append(steps, step{"conformance/" + c.Name, func(t *testing.T) {
			err := c.Run(ctx)
			if errors.Is(err, platformtest.ErrSkip) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
		}})
	}
	steps = append(steps, last...)
	for _, s := range steps {
		t.Run(s.name, s.run)
	}
}

func knownHostsHas(kh []byte, host string) bool {
	for _, l := range strings.Split(string(kh), "\n") {
		if knownHostsLineMatches(l, []string{host}) {
			return true
		}
	}
	return false
}

// forgeKnownHosts returns kh with victim's keys replaced by donor's.
func forgeKnownHosts(t *testing.T, kh []byte, victim, donor string) []byte {
	t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(kh)), "\n") {
		if knownHostsLineMatches(l, []string{victim}) {
			continue
		}
		out = append(out, l)
		if knownHostsLineMatches(l, []string{donor}) {
			f := strings.Fields(l)
			out = append(out, victim+" "+strings.Join(f[1:], " "))
		}
	}
	return []byte(strings.Join(out, "\n") + "\n")
}
