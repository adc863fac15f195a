package dirs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
	"github.com/plat-sh/plat/plugins/example/plat-provider-dirs/dirs"
)

func env() *platform.Environment {
	return &platform.Environment{Name: "t", Clusters: []*platform.Cluster{{Name: "web", Hosts: []*platform.Host{
		{Name: "web1", Cluster: "web"}, {Name: "web2", Cluster: "web"},
	}}}}
}

// The same suite plat plugins test runs, in-process on the factory.
func TestProviderConformanceInProcess(t *testing.T) {
	platformtest.TestProvider(t, platformtest.ProviderHarness{
		Factory: dirs.Factory{},
		Config:  platform.ProviderConfig{Type: "dirs", Values: map[string]any{"root": t.TempDir()}},
		Env:     env(),
	})
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"no root", nil, "must be an absolute path"},
		{"relative root", map[string]any{"root": "srv"}, "must be an absolute path"},
		{"option as via", map[string]any{"root": "/srv", "via": "-oProxyCommand=x"}, "is not a destination"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dirs.Factory{}.New(platform.ProviderConfig{Values: tc.values})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTargetsNameMissingHost(t *testing.T) {
	p, err := dirs.Factory{}.New(platform.ProviderConfig{Values: map[string]any{"root": t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Targets(context.Background(), &platform.TargetsRequest{Env: env()})
	if err == nil || !strings.Contains(err.Error(), "host web1") || !strings.Contains(err.Error(), "plat up t") {
		t.Fatalf("err = %v", err)
	}
	bad := env()
	bad.Clusters[0].Hosts[0].Name = "../escape"
	if _, err := p.Targets(context.Background(), &platform.TargetsRequest{Env: bad}); err == nil {
		t.Fatal("a host name with a slash became a directory")
	}
}

func TestSSHArgv(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  platform.Command
		want []string
	}{
		{
			name: "default dir",
			cmd:  platform.Command{Args: []string{"printf", "%s", `it's "x" $HOME`}},
			want: []string{"ssh", "-o", "BatchMode=yes", "-p", "2222", "--", "deploy@box",
				`cd /srv/dirs/web1 && exec printf %s 'it'\''s "x" $HOME'`},
		},
		{
			name: "dir and env",
			cmd:  platform.Command{Args: []string{"sh", "-c", "echo $A"}, Dir: "/tmp/a b", Env: map[string]string{"B": "2", "A": "x y"}},
			want: []string{"ssh", "-o", "BatchMode=yes", "-p", "2222", "--", "deploy@box",
				`cd '/tmp/a b' && exec env 'A=x y' B=2 sh -c 'echo $A'`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := dirs.SSHArgv("deploy@box", []string{"-p", "2222"}, "/srv/dirs/web1", &tc.cmd)
			if strings.Join(got, "\x00") != strings.Join(tc.want, "\x00") {
				t.Fatalf("argv =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":          "''",
		"plain":     "plain",
		"a b":       "'a b'",
		"it's":      `'it'\''s'`,
		"$(x)":      "'$(x)'",
		"/p/a-b.c":  "/p/a-b.c",
		"k=v,w@h:1": "k=v,w@h:1",
	} {
		if got := dirs.Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSSHTransportReportsConnectionFailure(t *testing.T) {
	// ssh to a closed local port: exit 255, reported as a transport error.
	p, err := dirs.Factory{}.New(platform.ProviderConfig{Values: map[string]any{
		"root": "/nonexistent", "via": "nobody@127.0.0.1",
		"ssh_options": []string{"-p", "1", "-o", "ConnectTimeout=5", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/dev/null"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Targets(context.Background(), &platform.TargetsRequest{Env: env()})
	if err == nil || !strings.Contains(err.Error(), "ssh nobody@127.0.0.1") {
		t.Fatalf("err = %v", err)
	}
	var ee *platform.ExitError
	if !errors.As(err, &ee) || ee.Code != 255 {
		t.Errorf("err = %v, want it to wrap exit 255", err)
	}
}
