package sdk

import (
	"os"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins/internal/wire"
	pluginv1 "github.com/plat-sh/plat/plugins/proto"
)

// Versioner is optional on a ProviderFactory: the plugin's version shown
// by `plat plugins list` and recorded in the lock file. Without it, the
// version is the main module's version from the binary's build info
// (set by `go install module@version`).
type Versioner interface {
	Version() string
}

// Serve serves factory as a provider plugin and returns when plat closes the
// connection. It must be called from main; it does not return on handshake
// errors (a binary run by hand prints a hint and exits 1).
func Serve(factory platform.ProviderFactory) {
	srv := NewServer(factory)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake(wire.ProtocolVersion),
		VersionedPlugins: wire.PluginSets(wire.ProtocolVersion, &wire.GRPCPlugin{
			Register: srv.Register,
		}),
		GRPCServer: plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "plugin", Output: os.Stderr, Level: hclog.Info, JSONFormat: true,
		}),
	})
}

// Server is the protocol server for one factory. Serve uses it; tests may
// register it on their own gRPC server to exercise the boundary without a
// process.
type Server struct {
	impl *server
}

// NewServer returns the protocol server for factory.
func NewServer(factory platform.ProviderFactory) *Server {
	return &Server{impl: newServer(factory, pluginVersion(factory))}
}

// Register adds the provider service to s.
func (s *Server) Register(g *grpc.Server) { s.RegisterOn(g) }

// RegisterOn adds the provider service to any gRPC service registrar
// (tests wrap one to serve a subset of the protocol's methods).
func (s *Server) RegisterOn(r grpc.ServiceRegistrar) {
	pluginv1.RegisterProviderServer(r, s.impl)
}

func pluginVersion(f platform.ProviderFactory) string {
	if v, ok := f.(Versioner); ok {
		return v.Version()
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return ""
}
