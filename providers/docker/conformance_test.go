package docker

import (
	"testing"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
)

func TestProviderConformance(t *testing.T) {
	c := testClient(t)
	_, env := testEnv(t, c, "web1", "web2")
	platformtest.TestProvider(t, platformtest.ProviderHarness{
		Factory: Factory{},
		Config:  platform.ProviderConfig{Type: "docker", Values: map[string]any{"publish": false}},
		Env:     env,
		App:     &platform.App{Name: "plattest"},
	})
}
