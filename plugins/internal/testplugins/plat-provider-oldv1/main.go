// Command plat-provider-oldv1 is a plugin as built before the engine
// (scheduler) RPCs were added to protocol v1: its gRPC service has only
// the methods the first v1 had, so a call of any newer one gets the
// Unimplemented status gRPC gives for an unknown method, exactly as from
// an old binary. It serves the example dirs provider, or, with
// PLAT_TEST_OLDV1_FACTORY=swarm, the swarm engine provider (a plugin that
// declares the scheduler ability without the RPCs, for the error a host
// gives then).
package main

import (
	"os"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins/example/plat-provider-dirs/dirs"
	"github.com/plat-sh/plat/plugins/internal/wire"
	"github.com/plat-sh/plat/plugins/sdk"
	"github.com/plat-sh/plat/providers/swarm"
)

// firstV1 are the RPCs of protocol v1 before the scheduler ones.
var firstV1 = map[string]bool{
	"GetSchema": true, "Configure": true, "Targets": true, "Up": true, "Down": true,
	"Machines": true, "Run": true, "Dial": true, "CloseTransport": true,
}

// oldRegistrar registers the provider service restricted to firstV1.
type oldRegistrar struct{ g *grpc.Server }

func (r oldRegistrar) RegisterService(full *grpc.ServiceDesc, impl any) {
	d := *full
	d.Methods, d.Streams = nil, nil
	for _, m := range full.Methods {
		if firstV1[m.MethodName] {
			d.Methods = append(d.Methods, m)
		}
	}
	for _, s := range full.Streams {
		if firstV1[s.StreamName] {
			d.Streams = append(d.Streams, s)
		}
	}
	r.g.RegisterService(&d, impl)
}

func main() {
	var f platform.ProviderFactory = dirs.Factory{}
	if os.Getenv("PLAT_TEST_OLDV1_FACTORY") == "swarm" {
		f = swarm.Factory{}
	}
	srv := sdk.NewServer(f)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake(wire.ProtocolVersion),
		VersionedPlugins: wire.PluginSets(wire.ProtocolVersion, &wire.GRPCPlugin{Register: func(g *grpc.Server) {
			srv.RegisterOn(oldRegistrar{g})
		}}),
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
