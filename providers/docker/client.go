package docker

import (
	"context"
	"errors"
	"fmt"
	"os"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Client is a connection to one Docker daemon whose API version has been
// negotiated (the client library speaks down to API 1.40, Docker 19.03).
type Client struct {
	api  *client.Client
	host string
}

// Connect opens a client for host ("" means DOCKER_HOST or the default
// socket) and checks that the daemon answers. An unreachable daemon is an
// error that names the address and says how to fix it.
func Connect(ctx context.Context, host string) (*Client, error) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	api, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("configure the Docker client: %w", err)
	}
	c := &Client{api: api, host: api.DaemonHost()}
	if _, err := api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		api.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reach the Docker daemon at %s: %w", c.host, ctx.Err())
		}
		return nil, c.unreachable(err)
	}
	return c, nil
}

// unreachable is the user-facing error for a daemon that does not answer.
func (c *Client) unreachable(err error) error {
	env := os.Getenv(client.EnvOverrideHost)
	if env == "" {
		env = "unset"
	}
	return fmt.Errorf("cannot reach the Docker daemon at %s: is it running? (DOCKER_HOST=%s): %w", c.host, env, err)
}

// API is the underlying Engine API client.
func (c *Client) API() *client.Client { return c.api }

// Host is the daemon address, e.g. unix:///var/run/docker.sock.
func (c *Client) Host() string { return c.host }

// APIVersion is the negotiated Engine API version.
func (c *Client) APIVersion() string { return c.api.ClientVersion() }

// Close releases idle connections; it is idempotent.
func (c *Client) Close() error { return c.api.Close() }

// ErrImageNotFound is wrapped by the error Up and EnsureBase-less callers
// return when the configured image is not on the daemon.
var ErrImageNotFound = errors.New("image not found")

// checkImage returns a clear error when ref is not on the daemon (plat never
// pulls: no registry is assumed reachable).
func (c *Client) checkImage(ctx context.Context, ref string) error {
	_, err := c.api.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err):
		hint := "build or load it on this daemon (plat never pulls images)"
		if ref == DefaultImage {
			hint = "build it with `plat image build-base` or `make base-image`"
		}
		return fmt.Errorf("image %s not found: %s: %w", ref, hint, ErrImageNotFound)
	case client.IsErrConnectionFailed(err):
		return c.unreachable(err)
	default:
		return fmt.Errorf("inspect image %s: %w", ref, err)
	}
}
