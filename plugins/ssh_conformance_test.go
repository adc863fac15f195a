package plugins_test

import (
	"testing"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
	"github.com/plat-sh/plat/plugins"
	"github.com/plat-sh/plat/providers/ssh"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// The ssh provider passes the provider suite on real sshd hosts, both
// in-process and through the gRPC boundary.
func TestSSHProviderConformance(t *testing.T) {
	fleet := sshtest.New(t, 2)
	env := &platform.Environment{Name: "conformance", Clusters: []*platform.Cluster{{Name: "web"}}}
	for _, h := range fleet.Hosts {
		env.Clusters[0].Hosts = append(env.Clusters[0].Hosts, &platform.Host{Name: h.Name, Cluster: "web", DeployTo: h.Root})
	}
	cfg := platform.ProviderConfig{Type: "ssh", Values: map[string]any{"ssh_config": fleet.SSHConfig, "known_hosts": fleet.KnownHosts}}
	t.Run("in-process", func(t *testing.T) {
		platformtest.TestProvider(t, platformtest.ProviderHarness{Factory: ssh.Factory{}, Config: cfg, Env: env})
	})
	t.Run("through the plugin boundary", func(t *testing.T) {
		c, err := plugins.InProcess(testCtx(t), "ssh", ssh.Factory{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		platformtest.TestProvider(t, platformtest.ProviderHarness{Factory: c.Factory(), Config: cfg, Env: env})
	})
}
