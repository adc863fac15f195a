package wire

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/plat-sh/plat/plugins/proto"
)

// ProtocolVersion is the plugin protocol this plat and this SDK speak.
const ProtocolVersion = 1

// PluginName is the name of the provider in go-plugin's plugin set.
const PluginName = "provider"

// Magic cookie: not a security measure, only a guard so that a plugin run
// by hand says it is a plugin instead of waiting for a handshake.
const (
	MagicCookieKey   = "PLAT_PLUGIN_MAGIC_COOKIE"
	MagicCookieValue = "5b0f3e4c8a7d4f0f9c1e2d3a6b7c8d9e-plat-provider"
)

// Handshake returns the handshake for protocol version v.
func Handshake(v int) plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  uint(v),
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}

// GRPCPlugin is the provider plugin as go-plugin sees it. The plugin side
// sets Register; the host side gets a pluginv1.ProviderClient from
// Dispense.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Register adds the provider service to the plugin's gRPC server.
	Register func(s *grpc.Server)
}

// GRPCServer registers the provider service.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	p.Register(s)
	return nil
}

// GRPCClient returns the protocol client for the plugin's connection.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginv1.NewProviderClient(c), nil
}

// PluginSets returns go-plugin's versioned plugin sets for one protocol
// version.
func PluginSets(v int, p *GRPCPlugin) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{v: {PluginName: p}}
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)
