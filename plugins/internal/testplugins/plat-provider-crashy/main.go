// Command plat-provider-crashy is the dirs provider, except that running
// `plat-test-crash PIDFILE` on a target starts a `sleep 300` child, writes
// its pid to PIDFILE and crashes the whole plugin (a panic: exit status 2).
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins/example/plat-provider-dirs/dirs"
	"github.com/plat-sh/plat/plugins/sdk"
)

type factory struct{ dirs.Factory }

func (f factory) New(cfg platform.ProviderConfig) (platform.Provider, error) {
	p, err := f.Factory.New(cfg)
	if err != nil {
		return nil, err
	}
	return provider{p.(*dirs.Provider)}, nil
}

// provider keeps the dirs provider's abilities (Up, Down, Machines).
type provider struct{ *dirs.Provider }

func (p provider) Targets(ctx context.Context, req *platform.TargetsRequest) (*platform.TargetsResponse, error) {
	resp, err := p.Provider.Targets(ctx, req)
	if err != nil {
		return nil, err
	}
	for _, t := range resp.Targets {
		t.Transport = transport{t.Transport}
	}
	return resp, nil
}

type transport struct{ platform.Transport }

func (t transport) Run(ctx context.Context, cmd *platform.Command) error {
	if len(cmd.Args) == 2 && cmd.Args[0] == "plat-test-crash" {
		// A grandchild in the plugin's process group, without a
		// parent-death signal: only plat's process-group kill reaps it.
		sleep := exec.Command("sleep", "300")
		if err := sleep.Start(); err != nil {
			return err
		}
		if err := os.WriteFile(cmd.Args[1], []byte(fmt.Sprint(sleep.Process.Pid)), 0o600); err != nil {
			return err
		}
		// A panic in a handler takes the process down with exit status 2
		// and its message on the real stderr, as a plugin bug would.
		panic("crashy: crashing on purpose")
	}
	return t.Transport.Run(ctx, cmd)
}

func main() { sdk.Serve(factory{}) }
