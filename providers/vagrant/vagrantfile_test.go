package vagrant

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs from the golden file (go test -update rewrites it):\n%s", path, got)
	}
}

func goldenEnv() (*platform.App, *platform.Environment) {
	app := &platform.App{Name: "caseconductor"}
	env := &platform.Environment{
		Name: "laptop",
		Clusters: []*platform.Cluster{
			{Name: "web", Roles: []string{"app"}, Hosts: []*platform.Host{
				{Name: "web1", Cluster: "web", Roles: []string{"app"}},
				{Name: "web2", Cluster: "web", Roles: []string{"app", "web"}},
			}},
			{Name: "db", Hosts: []*platform.Host{{Name: "db1.laptop.example.org", Cluster: "db"}}},
		},
	}
	return app, env
}

// renderFor renders the Vagrantfile the provider would write, without
// touching Docker or generating a key.
func renderFor(t *testing.T, values map[string]any, key string) string {
	t.Helper()
	prov, err := Factory{}.New(platform.ProviderConfig{Type: "vagrant", Values: values})
	if err != nil {
		t.Fatal(err)
	}
	p := prov.(*Provider)
	app, env := goldenEnv()
	pj, err := p.project(env, app, "/home/dev/src/case conductor/.plat")
	if err != nil {
		t.Fatal(err)
	}
	spec := pj.spec()
	if spec.PrivateKeyPath != "" {
		spec.AuthorizedKey = key
	}
	return renderVagrantfile(spec)
}

func TestVagrantfileGolden(t *testing.T) {
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheGoldenFileOnly0000000000000 plat-vagrant"
	tests := []struct {
		name   string
		values map[string]any
	}{
		{name: "docker.Vagrantfile", values: nil},
		{name: "docker-custom-image.Vagrantfile", values: map[string]any{
			"image": "example/sshd:1", "memory": float64(512), "cpus": float64(2),
		}},
		{name: "virtualbox.Vagrantfile", values: map[string]any{
			"provider": "virtualbox", "box": "debian/bookworm64", "memory": float64(1024), "cpus": float64(2),
			"settings": map[string]string{"gui": "false", "name": "it's \\ quoted", "linked_clone": "true", "default_nic_type": "virtio"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := renderFor(t, tt.values, key)
			b := renderFor(t, tt.values, key)
			if a != b {
				t.Fatal("rendering is not deterministic")
			}
			golden(t, tt.name, a)
		})
	}
}

func TestRubyString(t *testing.T) {
	tests := map[string]string{
		`plain`:          `'plain'`,
		`it's`:           `'it\'s'`,
		`back\slash`:     `'back\\slash'`,
		`#{system("x")}`: `'#{system("x")}'`,
	}
	for in, want := range tests {
		if got := rubyString(in); got != want {
			t.Errorf("rubyString(%q) = %s, want %s", in, got, want)
		}
	}
	if got := rubyValue("12"); got != "12" {
		t.Errorf("rubyValue(12) = %s", got)
	}
	if got := rubyValue("1.5.2"); got != "'1.5.2'" {
		t.Errorf("rubyValue(1.5.2) = %s", got)
	}
}

func TestContainerName(t *testing.T) {
	a := containerName("/p/.plat", "laptop", "web 1")
	if !strings.HasPrefix(a, "plat-laptop-web-1-") || len(a) != len("plat-laptop-web-1-")+6 {
		t.Fatalf("containerName = %q", a)
	}
	if b := containerName("/q/.plat", "laptop", "web 1"); a == b {
		t.Fatalf("two projects share container name %q", a)
	}
}

func TestSSHPortsDistinctStableInRange(t *testing.T) {
	names := []string{"plat-e-web1-aaaaaa", "plat-e-web2-aaaaaa", "plat-e-web3-aaaaaa"}
	// Two names that hash to one port still get two ports.
	got := sshPorts(append(names, names[0]))
	seen := map[int]bool{}
	for i, p := range got {
		if p < sshPortBase || p >= sshPortBase+sshPortSpan {
			t.Errorf("port %d of %s is outside [%d, %d)", p, names[i%len(names)], sshPortBase, sshPortBase+sshPortSpan)
		}
		if seen[p] {
			t.Errorf("port %d handed out twice: %v", p, got)
		}
		seen[p] = true
	}
	if again := sshPorts(names); !slices.Equal(again, got[:len(names)]) {
		t.Errorf("ports are not a function of the names: %v then %v", got[:len(names)], again)
	}
	if wrap := sshPorts([]string{"a", "a"}); wrap[0] == wrap[1] {
		t.Errorf("equal names got equal ports: %v", wrap)
	}
}
