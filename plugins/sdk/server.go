package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins/internal/wire"
	pluginv1 "github.com/plat-sh/plat/plugins/proto"
)

// chunkSize bounds stdout, stderr and dial data messages (gRPC's default
// receive limit is 4 MiB).
const chunkSize = 256 << 10

// server implements the protocol on top of a plain ProviderFactory. It
// keeps the configured providers and the transports of returned targets,
// addressed by ids it hands out.
type server struct {
	pluginv1.UnimplementedProviderServer
	factory platform.ProviderFactory
	version string

	mu         sync.Mutex
	next       int
	providers  map[string]platform.Provider
	configs    map[string]platform.ProviderConfig
	transports map[string]*transportEntry
}

type transportEntry struct {
	target string
	tr     platform.Transport
}

func newServer(f platform.ProviderFactory, version string) *server {
	return &server{
		factory:    f,
		version:    version,
		providers:  map[string]platform.Provider{},
		configs:    map[string]platform.ProviderConfig{},
		transports: map[string]*transportEntry{},
	}
}

func (s *server) GetSchema(_ context.Context, _ *pluginv1.GetSchemaRequest) (*pluginv1.GetSchemaResponse, error) {
	return &pluginv1.GetSchemaResponse{Schema: wire.SchemaToProto(s.factory.Schema()), Version: s.version}, nil
}

func (s *server) Configure(_ context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	cfg := platform.ProviderConfig{Type: req.GetType(), Values: wire.ValuesFromProto(req.GetValues())}
	p, err := s.factory.New(cfg)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp := &pluginv1.ConfigureResponse{}
	if _, ok := p.(platform.Provisioner); ok {
		resp.Abilities = append(resp.Abilities, pluginv1.Ability_ABILITY_PROVISIONER)
	}
	if _, ok := p.(platform.MachineStatuser); ok {
		resp.Abilities = append(resp.Abilities, pluginv1.Ability_ABILITY_MACHINES)
	}
	if _, ok := p.(platform.Scheduler); ok {
		resp.Abilities = append(resp.Abilities, pluginv1.Ability_ABILITY_SCHEDULER)
	}
	s.mu.Lock()
	s.next++
	resp.ProviderId = fmt.Sprintf("p%d", s.next)
	s.providers[resp.ProviderId] = p
	s.configs[resp.ProviderId] = cfg
	s.mu.Unlock()
	return resp, nil
}

func (s *server) provider(id string) (platform.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.providers[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no configured provider %q", id)
	}
	return p, nil
}

func (s *server) transport(id string) (*transportEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.transports[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no open transport %q (closed already?)", id)
	}
	return t, nil
}

// resolved is the environment as the provider sees it: decoded from the
// wire, with the provider block it was configured with, and its hosts
// resolved by the factory's own HostDefaults (plat cannot: protocol v1's
// schema does not carry them), as the loader resolves a built-in
// provider's hosts.
func (s *server) resolved(id string, app *platform.App, pe *pluginv1.Environment) *platform.Environment {
	env := wire.EnvFromProto(pe)
	if env == nil {
		return nil
	}
	s.mu.Lock()
	env.Provider = s.configs[id]
	s.mu.Unlock()
	platform.ResolveHosts(app, env, s.factory.Schema().Hosts)
	return env
}

// toStatus keeps cancellation recognisable on the host.
func toStatus(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return status.Error(codes.Unknown, err.Error())
}

func (s *server) Targets(ctx context.Context, req *pluginv1.TargetsRequest) (*pluginv1.TargetsResponse, error) {
	p, err := s.provider(req.GetProviderId())
	if err != nil {
		return nil, err
	}
	app := wire.AppFromProto(req.GetApp())
	resp, err := p.Targets(ctx, &platform.TargetsRequest{
		App: app, Env: s.resolved(req.GetProviderId(), app, req.GetEnv()),
		StateDir: req.GetStateDir(), Hosts: req.GetHosts(),
	})
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	out := &pluginv1.TargetsResponse{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range resp.Targets {
		pt := &pluginv1.Target{
			Name: t.Name, Address: t.Address, Roles: t.Roles, DeployTo: t.DeployTo, Port: int32(t.Port),
			HealthAddr: t.HealthAddr, PublicUrl: t.PublicURL,
		}
		if t.Transport != nil {
			s.next++
			pt.TransportId = fmt.Sprintf("t%d", s.next)
			s.transports[pt.TransportId] = &transportEntry{target: t.Name, tr: t.Transport}
			if _, ok := t.Transport.(platform.Dialer); ok {
				pt.Abilities = append(pt.Abilities, pluginv1.Ability_ABILITY_DIAL)
			}
		}
		out.Targets = append(out.Targets, pt)
	}
	return out, nil
}

func (s *server) provisioner(id string) (platform.Provisioner, error) {
	p, err := s.provider(id)
	if err != nil {
		return nil, err
	}
	pr, ok := p.(platform.Provisioner)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "provider cannot provision machines")
	}
	return pr, nil
}

// progressSender serialises progress messages from a provider that may
// report from several goroutines.
func progressSender(send func(*pluginv1.Progress) error) func(host, line string) {
	var mu sync.Mutex
	return func(host, line string) {
		mu.Lock()
		defer mu.Unlock()
		_ = send(&pluginv1.Progress{Host: host, Line: line})
	}
}

func (s *server) Up(req *pluginv1.UpRequest, stream pluginv1.Provider_UpServer) error {
	pr, err := s.provisioner(req.GetProviderId())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	app := wire.AppFromProto(req.GetApp())
	resp, err := pr.Up(ctx, &platform.UpRequest{
		App: app, Env: s.resolved(req.GetProviderId(), app, req.GetEnv()), StateDir: req.GetStateDir(),
		Progress: progressSender(func(p *pluginv1.Progress) error {
			return stream.Send(&pluginv1.UpResponse{Event: &pluginv1.UpResponse_Progress{Progress: p}})
		}),
	})
	if err != nil {
		return toStatus(ctx, err)
	}
	return stream.Send(&pluginv1.UpResponse{Event: &pluginv1.UpResponse_Done{
		Done: &pluginv1.MachineList{Machines: wire.MachinesToProto(resp.Machines)},
	}})
}

func (s *server) Down(req *pluginv1.DownRequest, stream pluginv1.Provider_DownServer) error {
	pr, err := s.provisioner(req.GetProviderId())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	app := wire.AppFromProto(req.GetApp())
	resp, err := pr.Down(ctx, &platform.DownRequest{
		App: app, Env: s.resolved(req.GetProviderId(), app, req.GetEnv()), StateDir: req.GetStateDir(),
		Destroy: req.GetDestroy(),
		Progress: progressSender(func(p *pluginv1.Progress) error {
			return stream.Send(&pluginv1.DownResponse{Event: &pluginv1.DownResponse_Progress{Progress: p}})
		}),
	})
	if err != nil {
		return toStatus(ctx, err)
	}
	return stream.Send(&pluginv1.DownResponse{Event: &pluginv1.DownResponse_Done{
		Done: &pluginv1.MachineList{Machines: wire.MachinesToProto(resp.Machines)},
	}})
}

func (s *server) Machines(ctx context.Context, req *pluginv1.MachinesRequest) (*pluginv1.MachinesResponse, error) {
	p, err := s.provider(req.GetProviderId())
	if err != nil {
		return nil, err
	}
	ms, ok := p.(platform.MachineStatuser)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "provider cannot report machines")
	}
	app := wire.AppFromProto(req.GetApp())
	list, err := ms.Machines(ctx, &platform.TargetsRequest{
		App: app, Env: s.resolved(req.GetProviderId(), app, req.GetEnv()),
		StateDir: req.GetStateDir(), Hosts: req.GetHosts(),
	})
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	return &pluginv1.MachinesResponse{Machines: wire.MachinesToProto(list)}, nil
}

func (s *server) CloseTransport(_ context.Context, req *pluginv1.CloseTransportRequest) (*pluginv1.CloseTransportResponse, error) {
	s.mu.Lock()
	t, ok := s.transports[req.GetTransportId()]
	delete(s.transports, req.GetTransportId())
	s.mu.Unlock()
	if !ok {
		return &pluginv1.CloseTransportResponse{}, nil
	}
	if err := t.tr.Close(); err != nil {
		return nil, status.Errorf(codes.Unknown, "close transport of %s: %v", t.target, err)
	}
	return &pluginv1.CloseTransportResponse{}, nil
}

// streamWriter sends what a command writes as stdout or stderr messages.
type streamWriter struct {
	send   func(*pluginv1.RunResponse) error
	stderr bool
}

func (w *streamWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := p
		if len(c) > chunkSize {
			c = c[:chunkSize]
		}
		m := &pluginv1.RunResponse{Msg: &pluginv1.RunResponse_Stdout{Stdout: c}}
		if w.stderr {
			m = &pluginv1.RunResponse{Msg: &pluginv1.RunResponse_Stderr{Stderr: c}}
		}
		if err := w.send(m); err != nil {
			return n, err
		}
		n += len(c)
		p = p[len(c):]
	}
	return n, nil
}

func (s *server) Run(stream pluginv1.Provider_RunServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "run: first message is not start")
	}
	t, err := s.transport(start.GetTransportId())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	var sendMu sync.Mutex
	send := func(m *pluginv1.RunResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}
	cmd := &platform.Command{
		Args:   start.GetArgs(),
		Dir:    start.GetDir(),
		Env:    start.GetEnv(),
		Stdout: &streamWriter{send: send},
		Stderr: &streamWriter{send: send, stderr: true},
	}
	if start.GetStdin() {
		r, w := io.Pipe()
		cmd.Stdin = r
		defer r.CloseWithError(io.ErrClosedPipe)
		go pumpStdin(stream.Recv, w, func(m *pluginv1.RunRequest) ([]byte, bool) {
			switch x := m.GetMsg().(type) {
			case *pluginv1.RunRequest_Stdin:
				return x.Stdin, false
			case *pluginv1.RunRequest_StdinEof:
				return nil, true
			}
			return nil, false
		})
	}
	res, err := runResult(ctx, t.tr.Run(ctx, cmd))
	if err != nil {
		return err
	}
	return send(&pluginv1.RunResponse{Msg: &pluginv1.RunResponse_Result{Result: res}})
}

// pumpStdin copies a stream's stdin messages into w until the stream
// ends; data gives a message's bytes, or eof for the end-of-input message.
// A write error means the command stopped reading: the pump keeps
// draining so the host's sends never block.
func pumpStdin[M any](recv func() (M, error), w *io.PipeWriter, data func(M) (b []byte, eof bool)) {
	for {
		m, err := recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				_ = w.Close()
			} else {
				_ = w.CloseWithError(err)
			}
			return
		}
		b, eof := data(m)
		if eof {
			_ = w.Close()
		} else if len(b) > 0 {
			_, _ = w.Write(b)
		}
	}
}

// runResult is the RunResult of a command that ended with err, or the
// gRPC status to return when the call itself was cancelled.
func runResult(ctx context.Context, err error) (*pluginv1.RunResult, error) {
	res := &pluginv1.RunResult{}
	var ee *platform.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode, res.StderrTail = int32(ee.Code), ee.Stderr
	case ctx.Err() != nil:
		return nil, status.FromContextError(ctx.Err()).Err()
	default:
		res.Error = err.Error()
		if res.Error == "" {
			res.Error = "transport failed"
		}
	}
	return res, nil
}

func (s *server) Dial(stream pluginv1.Provider_DialServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "dial: first message is not start")
	}
	t, err := s.transport(start.GetTransportId())
	if err != nil {
		return err
	}
	d, ok := t.tr.(platform.Dialer)
	if !ok {
		return status.Errorf(codes.Unimplemented, "transport of %s cannot dial", t.target)
	}
	ctx := stream.Context()
	conn, err := d.DialContext(ctx, start.GetNetwork(), start.GetAddress())
	if err != nil {
		return stream.Send(&pluginv1.DialResponse{Msg: &pluginv1.DialResponse_Error{Error: err.Error()}})
	}
	defer conn.Close()
	if err := stream.Send(&pluginv1.DialResponse{Msg: &pluginv1.DialResponse_Connected{Connected: &pluginv1.DialConnected{}}}); err != nil {
		return err
	}
	// host -> conn
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				_ = conn.Close()
				return
			}
			switch x := m.GetMsg().(type) {
			case *pluginv1.DialRequest_Data:
				if _, err := conn.Write(x.Data); err != nil {
					_ = conn.Close()
					return
				}
			case *pluginv1.DialRequest_CloseWrite:
				if cw, ok := conn.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
				}
			}
		}
	}()
	// conn -> host
	buf := make([]byte, 32<<10)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if serr := stream.Send(&pluginv1.DialResponse{Msg: &pluginv1.DialResponse_Data{Data: buf[:n]}}); serr != nil {
				return serr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return nil
			}
			return stream.Send(&pluginv1.DialResponse{Msg: &pluginv1.DialResponse_Error{Error: err.Error()}})
		}
	}
}
