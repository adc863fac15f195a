// Command plat-provider-future only speaks protocol v2, as a plugin built
// for a newer plat would.
package main

import (
	"github.com/hashicorp/go-plugin"

	"github.com/plat-sh/plat/plugins/example/plat-provider-dirs/dirs"
	"github.com/plat-sh/plat/plugins/internal/wire"
	"github.com/plat-sh/plat/plugins/sdk"
)

func main() {
	srv := sdk.NewServer(dirs.Factory{})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  wire.Handshake(2),
		VersionedPlugins: wire.PluginSets(2, &wire.GRPCPlugin{Register: srv.Register}),
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
