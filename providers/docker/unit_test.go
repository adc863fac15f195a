package docker

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
)

func TestDebianMirror(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{
			name: "deb822 skips security",
			files: map[string]string{"sources.list.d/debian.sources": `Types: deb
URIs: http://mirror.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
# a comment
URIs: http://mirror.example.org/debian/
Suites: bookworm bookworm-updates
Components: main
`},
			want: "http://mirror.example.org/debian",
		},
		{
			name: "one-line format with options",
			files: map[string]string{"sources.list": `# deb http://commented.example.org/debian bookworm main
deb-src http://src.example.org/debian bookworm main
deb [arch=amd64 signed-by=/k.gpg] http://list.example.org/debian bookworm main
`},
			want: "http://list.example.org/debian",
		},
		{
			name: "disabled stanza and other suite",
			files: map[string]string{"sources.list.d/x.sources": `Types: deb
URIs: http://off.example.org/debian
Suites: bookworm
Enabled: no

Types: deb
URIs: http://ubuntu.example.org/ubuntu
Suites: noble
`},
			want: defaultMirror,
		},
		{name: "no sources", want: defaultMirror},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := DebianMirror(dir, "bookworm"); got != tt.want {
				t.Fatalf("DebianMirror = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDebootstrapArgs(t *testing.T) {
	o := BaseOptions{Suite: "bookworm", Mirror: "http://m.example.org/debian", Include: []string{"python3", "sudo"}, CacheDir: "/c"}
	got := debootstrapArgs(o, "/r")
	want := []string{"--variant=minbase", "--include=python3,sudo", "--cache-dir=/c", "bookworm", "/r", "http://m.example.org/debian"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("args = %q, want %q", got, want)
	}
}

func TestNames(t *testing.T) {
	tests := []struct{ app, env, host, want string }{
		{"shop", "laptop", "web1", "plat-shop-laptop-web1"},
		{"shop", "prod", "web1.phx1.example.org", "plat-shop-prod-web1.phx1.example.org"},
		{"my app", "dev/1", "h:1", "plat-my-app-dev-1-h-1"},
	}
	for _, tt := range tests {
		if got := ContainerName(tt.app, tt.env, tt.host); got != tt.want {
			t.Errorf("ContainerName(%q, %q, %q) = %q, want %q", tt.app, tt.env, tt.host, got, tt.want)
		}
	}
	if got := NetworkName("shop", "laptop"); got != "plat-shop-laptop" {
		t.Errorf("NetworkName = %q", got)
	}
}

func TestFactory(t *testing.T) {
	names := map[string]bool{}
	for _, a := range (Factory{}).Schema().Attributes {
		names[a.Name] = true
	}
	for _, n := range []string{"image", "network", "publish", "docker_host", "env"} {
		if !names[n] {
			t.Errorf("schema lacks %s", n)
		}
	}
	prov, err := Factory{}.New(platform.ProviderConfig{Type: "docker", Values: map[string]any{
		"env": map[string]any{"A": "1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := prov.(*Provider).cfg
	want := Config{Image: DefaultImage, Publish: true, Env: map[string]string{"A": "1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config = %+v, want %+v", got, want)
	}
	if _, err := (Factory{}).New(platform.ProviderConfig{Values: map[string]any{"docker_host": "nonsense"}}); err == nil {
		t.Error("a docker_host without a scheme was accepted")
	}
}

func TestContainerSpec(t *testing.T) {
	p := New(Config{Publish: true, Env: map[string]string{"B": "2", "A": "1"}})
	app := &platform.App{Name: "shop", Health: &platform.HealthCheck{Port: 9000}}
	h := &platform.Host{Name: "web1", Cluster: "web", Roles: []string{"db", "web"}}
	env := &platform.Environment{Name: "laptop", Clusters: []*platform.Cluster{{Name: "web", Hosts: []*platform.Host{h}}}}
	// As the loader does: the port (the health check's) is resolved once.
	platform.ResolveHosts(app, env, Factory{}.Schema().Hosts)
	spec := p.containerSpec(app, env, h, "plat-shop-laptop", true)
	if spec.Name != "plat-shop-laptop-web1" || spec.Config.Hostname != "web1" || spec.Config.Image != DefaultImage {
		t.Errorf("name/hostname/image = %q %q %q", spec.Name, spec.Config.Hostname, spec.Config.Image)
	}
	if spec.Config.Labels[LabelRoles] != "web,db" {
		t.Errorf("roles label = %q", spec.Config.Labels[LabelRoles])
	}
	if !reflect.DeepEqual(spec.Config.Env, []string{"A=1", "B=2"}) {
		t.Errorf("env = %q", spec.Config.Env)
	}
	if spec.HostConfig.Init == nil || !*spec.HostConfig.Init || !reflect.DeepEqual(spec.Config.Cmd, []string{"sleep", "infinity"}) {
		t.Errorf("init = %v, cmd = %q", spec.HostConfig.Init, spec.Config.Cmd)
	}
	var bound []string
	for port, bs := range spec.HostConfig.PortBindings {
		for _, b := range bs {
			bound = append(bound, port.String()+"->"+b.HostIP.String()+":"+b.HostPort)
		}
	}
	if !reflect.DeepEqual(bound, []string{"9000/tcp->127.0.0.1:"}) {
		t.Errorf("port bindings = %v", bound)
	}
	if ep := spec.NetworkingConfig.EndpointsConfig["plat-shop-laptop"]; ep == nil || !reflect.DeepEqual(ep.Aliases, []string{"web1"}) {
		t.Errorf("endpoint = %+v", ep)
	}
	noInit := p.containerSpec(app, env, h, "n", false)
	if noInit.HostConfig.Init != nil || noInit.Config.Cmd[0] != "sh" {
		t.Errorf("without docker-init: init = %v, cmd = %q", noInit.HostConfig.Init, noInit.Config.Cmd)
	}
}

func TestPidFilter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
		pid    int
	}{
		{"marker split over writes", []string{"plat-exec-", "pid:42\nerr", "or\n"}, "error\n", 42},
		{"no marker", []string{"OCI runtime exec failed\n"}, "OCI runtime exec failed\n", 0},
		{"short output without newline", []string{"oops"}, "oops", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			f := &pidFilter{w: &out, pid: make(chan int, 1)}
			for _, w := range tt.writes {
				if n, err := f.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("write = %d, %v", n, err)
				}
			}
			f.flush()
			if out.String() != tt.want {
				t.Errorf("stderr = %q, want %q", out.String(), tt.want)
			}
			var pid int
			select {
			case pid = <-f.pid:
			default:
			}
			if pid != tt.pid {
				t.Errorf("pid = %d, want %d", pid, tt.pid)
			}
		})
	}
}

func TestWriteRootfsTar(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "usr/bin"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "dev/pts"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "dev/null-ish"), nil, 0o644))
	must(os.WriteFile(filepath.Join(dir, "usr/bin/a"), []byte("binary"), 0o755))
	must(os.Link(filepath.Join(dir, "usr/bin/a"), filepath.Join(dir, "usr/bin/b")))
	must(os.Symlink("usr/bin", filepath.Join(dir, "bin")))

	var buf bytes.Buffer
	must(writeRootfsTar(&buf, dir))
	got := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(err)
		desc := string(h.Typeflag)
		switch h.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			desc += ">" + h.Linkname
		case tar.TypeReg:
			b, _ := io.ReadAll(tr)
			desc += ":" + string(b)
		}
		got[h.Name] = desc
	}
	want := map[string]string{
		"bin":       "2>usr/bin",
		"dev/":      "5",
		"usr/":      "5",
		"usr/bin/":  "5",
		"usr/bin/a": "0:binary",
		"usr/bin/b": "1>usr/bin/a",
	}
	if !reflect.DeepEqual(got, want) {
		var lines []string
		for k, v := range got {
			lines = append(lines, k+" "+v)
		}
		t.Fatalf("tar entries:\n%s", strings.Join(lines, "\n"))
	}
}
