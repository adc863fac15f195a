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
)

func twoHostEnv() (*platform.App, *platform.Environment) {
	return &platform.App{Name: "demo"}, &platform.Environment{
		Name: "laptop",
		Clusters: []*platform.Cluster{{Name: "web", Hosts: []*platform.Host{
			{Name: "web1", Cluster: "web"},
			{Name: "web2", Cluster: "web", Roles: []string{"worker"}},
		}}},
	}
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
// provider: up, status, targets over SSH, halt, up again, destroy. One run,
// because every vagrant command costs about a second of Ruby start-up.
func TestVagrantDocker(t *testing.T) {
	requireVagrant(t)
	requireImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// A space in the path: Vagrant quotes it in ssh-config, plat must
	// read it back.
	stateDir := filepath.Join(t.TempDir(), "my project", ".plat")
	app, env := twoHostEnv()
	vdir := filepath.Join(stateDir, "vagrant", env.Name)
	c1, c2 := containerName(stateDir, env.Name, "web1"), containerName(stateDir, env.Name, "web2")
	cleanupVagrant(t, vdir, c1, c2)

	prov, err := Factory{}.New(platform.ProviderConfig{Type: "vagrant"})
	if err != nil {
		t.Fatal(err)
	}
	p := prov.(*Provider)

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

	ms, err := p.Machines(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir})
	if err != nil {
		t.Fatal(err)
	}
	if got := states(ms); got["web1"] != "running" || got["web2"] != "running" {
		t.Fatalf("machines = %+v", ms)
	}

	checkTargets := func(t *testing.T) {
		t.Helper()
		resp, err := p.Targets(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir})
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
	checkTargets(t)

	// Both host keys were recorded under the machine names.
	kh, err := os.ReadFile(filepath.Join(vdir, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"web1", "web2"} {
		if !knownHostsHas(kh, h) {
			t.Errorf("known_hosts has no entry for %s:\n%s", h, kh)
		}
	}

	one, err := p.Targets(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir, Hosts: []string{"web2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Targets) != 1 || one.Targets[0].Name != "web2" {
		t.Fatalf("filtered targets = %+v", one.Targets)
	}
	one.Targets[0].Transport.Close()

	// A changed host key is refused: swap web2's entry for web1's key.
	forged := forgeKnownHosts(t, kh, "web2", "web1")
	if err := os.WriteFile(filepath.Join(vdir, "known_hosts"), forged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Targets(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir, Hosts: []string{"web2"}}); err == nil || !strings.Contains(err.Error(), "web2") {
		t.Fatalf("targets with a changed host key: err = %v, want a refusal naming web2", err)
	}
	if err := os.WriteFile(filepath.Join(vdir, "known_hosts"), kh, 0o600); err != nil {
		t.Fatal(err)
	}

	// Halt both, destroy web2 behind plat's back, then up again: web1's
	// container restarts with the host key known_hosts has; web2 is a new
	// machine with a new key, whose stale entry Up drops.
	if _, err := p.Down(ctx, &platform.DownRequest{App: app, Env: env, StateDir: stateDir}); err != nil {
		t.Fatalf("down: %v", err)
	}
	ms, err = p.Machines(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir})
	if err != nil {
		t.Fatal(err)
	}
	if got := states(ms); got["web1"] != "stopped" || got["web2"] != "stopped" {
		t.Fatalf("machines after halt = %+v", ms)
	}
	if _, err := (&cli{bin: "vagrant", dir: vdir}).run(ctx, nil, "destroy", "-f", "web2"); err != nil {
		t.Fatal(err)
	}
	_, err = p.Targets(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir})
	if err == nil || !strings.Contains(err.Error(), "host web1: vagrant machine is stopped, not running; host web2: vagrant machine is not created") {
		t.Fatalf("targets of stopped and destroyed machines: err = %v", err)
	}
	if _, err := p.Up(ctx, &platform.UpRequest{App: app, Env: env, StateDir: stateDir}); err != nil {
		t.Fatalf("up after halt: %v", err)
	}
	checkTargets(t)

	down, err := p.Down(ctx, &platform.DownRequest{App: app, Env: env, StateDir: stateDir, Destroy: true})
	if err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if got := states(down.Machines); got["web1"] != "missing" || got["web2"] != "missing" {
		t.Fatalf("machines after destroy = %+v", down.Machines)
	}
	if containerExists(t, c1) || containerExists(t, c2) {
		t.Fatal("containers survived destroy")
	}
	if _, err := os.Stat(vdir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state %s survived destroy: %v", vdir, err)
	}
	ms, err = p.Machines(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir})
	if err != nil {
		t.Fatal(err)
	}
	if got := states(ms); got["web1"] != "missing" || got["web2"] != "missing" {
		t.Fatalf("machines after destroy = %+v", ms)
	}
	if _, err := p.Targets(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir}); err == nil || !strings.Contains(err.Error(), "host web1") {
		t.Fatalf("targets after destroy: err = %v, want one naming web1", err)
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
