package plugins

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins/internal/wire"
	pluginv1 "github.com/plat-sh/plat/plugins/proto"
	"github.com/plat-sh/plat/plugins/sdk"
)

// InProcess serves factory with the plugin SDK on an in-memory gRPC
// connection and returns a Client for it, as if it were the plugin named
// name. Everything but the process crosses the real boundary (protocol
// messages, streams, cancellation), so built-in providers can run their
// conformance suite through it without building a binary. Close stops the
// server.
func InProcess(ctx context.Context, name string, factory platform.ProviderFactory) (*Client, error) {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	sdk.NewServer(factory).Register(srv)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///"+name,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		srv.Stop()
		return nil, fmt.Errorf("connect in-process plugin %s: %w", name, err)
	}
	c := &Client{name: name, path: "(in-process)", stderr: newTailBuffer(1 << 10)}
	c.life, c.stop = context.WithCancel(context.WithoutCancel(ctx))
	c.inproc = func() {
		_ = conn.Close()
		srv.Stop()
	}
	c.rpc = pluginv1.NewProviderClient(conn)
	resp, err := c.rpc.GetSchema(ctx, &pluginv1.GetSchemaRequest{})
	if err != nil {
		err = c.fail(ctx, "get schema", "", err)
		c.Close()
		return nil, err
	}
	c.schema = wire.SchemaFromProto(resp.GetSchema())
	c.version = resp.GetVersion()
	return c, nil
}
