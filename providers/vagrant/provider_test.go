package vagrant

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]any
		want    config
		wantErr string
	}{
		{name: "defaults", values: nil, want: config{Provider: "docker", Image: DefaultImage}},
		{name: "virtualbox", values: map[string]any{"provider": "virtualbox", "box": "debian/bookworm64", "memory": float64(1024), "cpus": float64(2)},
			want: config{Provider: "virtualbox", Box: "debian/bookworm64", Memory: 1024, CPUs: 2}},
		{name: "settings as map[string]any", values: map[string]any{"settings": map[string]any{"privileged": "true"}},
			want: config{Provider: "docker", Image: DefaultImage, Settings: map[string]string{"privileged": "true"}}},
		{name: "own vagrantfile leaves the provider to it", values: map[string]any{"vagrantfile": "infra/./Vagrantfile"},
			want: config{Vagrantfile: "infra/Vagrantfile"}},
		{name: "own vagrantfile with an explicit provider", values: map[string]any{"vagrantfile": "Vagrantfile", "provider": "libvirt"},
			want: config{Vagrantfile: "Vagrantfile", Provider: "libvirt"}},
		{name: "box with docker", values: map[string]any{"box": "debian/bookworm64"}, wantErr: "needs a VM provider"},
		{name: "vm provider without box", values: map[string]any{"provider": "libvirt"}, wantErr: `provider "libvirt" needs a box`},
		{name: "image with a vm provider", values: map[string]any{"provider": "virtualbox", "box": "b", "image": "i"}, wantErr: "image is for the docker provider"},
		{name: "vagrantfile and box", values: map[string]any{"vagrantfile": "V", "box": "b"}, wantErr: "describes the machines itself"},
		{name: "bad settings key", values: map[string]any{"settings": map[string]string{"x; system('id')": "1"}}, wantErr: "not a provider attribute name"},
		{name: "bad provider name", values: map[string]any{"provider": "Docker Desktop"}, wantErr: "not a Vagrant provider name"},
		{name: "negative memory", values: map[string]any{"memory": float64(-1)}, wantErr: "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(platform.ProviderConfig{Type: "vagrant", Values: tt.values})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Provider != tt.want.Provider || got.Box != tt.want.Box || got.Image != tt.want.Image ||
				got.Vagrantfile != tt.want.Vagrantfile || got.Memory != tt.want.Memory || got.CPUs != tt.want.CPUs ||
				len(got.Settings) != len(tt.want.Settings) {
				t.Fatalf("got %+v\nwant %+v", *got, tt.want)
			}
			for k, v := range tt.want.Settings {
				if got.Settings[k] != v {
					t.Fatalf("settings = %v, want %v", got.Settings, tt.want.Settings)
				}
			}
		})
	}
}

func TestSchemaMatchesConfig(t *testing.T) {
	names := map[string]platform.AttrType{}
	for _, a := range (Factory{}).Schema().Attributes {
		names[a.Name] = a.Type
	}
	want := map[string]platform.AttrType{
		"box": platform.TypeString, "image": platform.TypeString, "provider": platform.TypeString,
		"vagrantfile": platform.TypeString, "memory": platform.TypeNumber, "cpus": platform.TypeNumber,
		"settings": platform.TypeStringMap,
	}
	if len(names) != len(want) {
		t.Fatalf("schema = %v, want %v", names, want)
	}
	for k, v := range want {
		if names[k] != v {
			t.Errorf("attribute %s has type %q, want %q", k, names[k], v)
		}
	}
}

func TestVagrantNotInstalled(t *testing.T) {
	p := &Provider{cfg: &config{Provider: "docker", Image: DefaultImage}, bin: "plat-no-such-vagrant"}
	app, env := twoHostEnv()
	stateDir := filepath.Join(t.TempDir(), ".plat")
	ctx := context.Background()
	_, err := p.Up(ctx, &platform.UpRequest{App: app, Env: env, StateDir: stateDir})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("up: err = %v, want ErrNotInstalled", err)
	}
	if err.Error() != "vagrant not found in PATH: install it (apt-get install vagrant)" {
		t.Fatalf("message = %q", err)
	}
	if _, err := p.Targets(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir}); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("targets: err = %v", err)
	}
	if _, err := p.Machines(ctx, &platform.TargetsRequest{App: app, Env: env, StateDir: stateDir}); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("machines: err = %v", err)
	}
	if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state dir was created before the check: %v", err)
	}
}

func TestNoHostsIsAConfigError(t *testing.T) {
	requireVagrant(t)
	p := &Provider{cfg: &config{Provider: "docker", Image: DefaultImage}, bin: "vagrant"}
	_, err := p.Up(context.Background(), &platform.UpRequest{Env: &platform.Environment{Name: "empty"}, StateDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "environment empty") || !strings.Contains(err.Error(), "cluster") {
		t.Fatalf("err = %v", err)
	}
}

// TestUserVagrantfileFailedUp brings up a machine from the user's own
// Vagrantfile whose docker run fails: the error carries Vagrant's message,
// and the machine's state afterwards is reported as Vagrant says.
func TestUserVagrantfileFailedUp(t *testing.T) {
	requireVagrant(t)
	requireImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	project := t.TempDir()
	infra := filepath.Join(project, "infra")
	if err := os.MkdirAll(infra, 0o755); err != nil {
		t.Fatal(err)
	}
	container := fmt.Sprintf("plat-test-failed-up-%d", time.Now().UnixNano())
	vf := `Vagrant.configure("2") do |config|
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.define "app1" do |m|
    m.vm.provider "docker" do |d|
      d.image = "` + DefaultImage + `"
      d.name = "` + container + `"
      d.has_ssh = true
      d.create_args = ["--no-such-flag"]
    end
  end
end
`
	if err := os.WriteFile(filepath.Join(infra, "Vagrantfile"), []byte(vf), 0o644); err != nil {
		t.Fatal(err)
	}
	cleanupVagrant(t, infra, container)

	prov, err := Factory{}.New(platform.ProviderConfig{Type: "vagrant", Values: map[string]any{"vagrantfile": "infra/Vagrantfile"}})
	if err != nil {
		t.Fatal(err)
	}
	p := prov.(*Provider)
	env := &platform.Environment{Name: "dev"}
	stateDir := filepath.Join(project, ".plat")
	var lines []string
	_, err = p.Up(ctx, &platform.UpRequest{Env: env, StateDir: stateDir, Progress: func(host, line string) {
		lines = append(lines, host+": "+line)
	}})
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("up: err = %v, want a *vagrant.Error", err)
	}
	if ve.Command != "up" || ve.Class == "" || !strings.Contains(ve.Message, "Stderr: unknown flag: --no-such-flag") {
		t.Fatalf("error = %+v", ve)
	}
	t.Logf("up error: %v", err)
	if !strings.Contains(err.Error(), "bring up environment dev: vagrant up failed (in "+infra+")") {
		t.Fatalf("message = %q", err)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "app1: Creating the container...") {
		t.Fatalf("progress:\n%s", strings.Join(lines, "\n"))
	}
	// Vagrant kept its state next to the user's Vagrantfile.
	if _, err := os.Stat(filepath.Join(infra, ".vagrant")); err != nil {
		t.Fatalf("no .vagrant next to the Vagrantfile: %v", err)
	}
	ms, err := p.Machines(ctx, &platform.TargetsRequest{Env: env, StateDir: stateDir})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Host != "app1" || ms[0].State == "running" {
		t.Fatalf("machines = %+v", ms)
	}
	_, err = p.Targets(ctx, &platform.TargetsRequest{Env: env, StateDir: stateDir})
	if err == nil || !strings.Contains(err.Error(), "host app1: vagrant machine is") {
		t.Fatalf("targets: err = %v", err)
	}
}
