// Package platformtest holds the conformance suites every implementation of
// a platform contract runs: built-in providers in-process, plugins through
// the gRPC boundary (plat plugins test).
package platformtest

import (
	"context"
	"errors"
	"testing"

	"github.com/plat-sh/plat/platform"
)

// TransportHarness gives the suite a fresh transport and a scratch
// directory on the target that the transport's user can write.
type TransportHarness struct {
	// New returns a connected transport; the suite closes it.
	New func(t *testing.T) platform.Transport
	// Scratch returns an absolute directory on the target, empty and
	// writable, for this test.
	Scratch func(t *testing.T) string
}

// TestTransport runs the Transport conformance suite (TransportChecks) as
// subtests. Targets need a POSIX shell, coreutils and tar, as plat's
// on-host recipe does.
func TestTransport(t *testing.T, h TransportHarness) {
	t.Helper()
	for i, c := range TransportChecks(TransportSource{}) {
		t.Run(c.Name, func(t *testing.T) {
			src := TransportSource{
				New: func(context.Context) (platform.Transport, error) { return h.New(t), nil },
				Scratch: func(context.Context, platform.Transport) (string, func(), error) {
					return h.Scratch(t), func() {}, nil
				},
			}
			err := TransportChecks(src)[i].Run(t.Context())
			if errors.Is(err, ErrSkip) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
