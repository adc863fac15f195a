package plugins_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
	"github.com/plat-sh/plat/plugins"
	"github.com/plat-sh/plat/providers/local"
)

// The built-in local provider passes the provider suite through the gRPC
// boundary: in memory, and as a real plugin process.
func TestLocalProviderThroughBoundary(t *testing.T) {
	t.Run("in-process", func(t *testing.T) {
		c, err := plugins.InProcess(testCtx(t), "local", local.Factory{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		platformtest.TestProvider(t, platformtest.ProviderHarness{
			Factory: c.Factory(), Config: platform.ProviderConfig{Type: "local"}, Env: testEnv("web1", "web2"),
		})
	})
	t.Run("plugin process", func(t *testing.T) {
		var out bytes.Buffer
		err := plugins.Conformance(testCtx(t), plugin("local"), platform.ProviderConfig{}, nil, &out)
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "0 failed") {
			t.Errorf("output:\n%s", out.String())
		}
	})
}
