package local

import (
	"testing"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
)

func TestTransportConformance(t *testing.T) {
	platformtest.TestTransport(t, platformtest.TransportHarness{
		New:     func(t *testing.T) platform.Transport { return &Transport{Dir: t.TempDir()} },
		Scratch: func(t *testing.T) string { return t.TempDir() },
	})
}
