package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins/internal/wire"
	pluginv1 "github.com/plat-sh/plat/plugins/proto"
)

// The engine provider (platform.Scheduler) side of the protocol: a
// provider that implements platform.Scheduler is served through Publish,
// Deploy, Inspect, Logs and Exec, and Configure declares
// ABILITY_SCHEDULER for it.

func (s *server) scheduler(id string) (platform.Scheduler, error) {
	p, err := s.provider(id)
	if err != nil {
		return nil, err
	}
	sch, ok := p.(platform.Scheduler)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "provider is not an engine provider (platform.Scheduler)")
	}
	return sch, nil
}

// lockedSend serialises a stream's sends (progress may come from several
// goroutines).
func lockedSend[T any](send func(T) error) func(T) error {
	var mu sync.Mutex
	return func(m T) error {
		mu.Lock()
		defer mu.Unlock()
		return send(m)
	}
}

// replies routes the host's answers (content chunks, confirmations) to the
// call waiting for each, by id. It never blocks the receiving goroutine:
// one question per id is outstanding at a time.
type replies[T any] struct {
	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan T
	dead    chan struct{}
	err     error
}

func newReplies[T any]() *replies[T] {
	return &replies[T]{waiting: map[uint64]chan T{}, dead: make(chan struct{})}
}

func (r *replies[T]) open() (uint64, chan T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	ch := make(chan T, 1)
	r.waiting[r.next] = ch
	return r.next, ch
}

func (r *replies[T]) close(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.waiting, id)
}

func (r *replies[T]) deliver(id uint64, m T) {
	r.mu.Lock()
	ch := r.waiting[id]
	r.mu.Unlock()
	if ch != nil {
		select {
		case ch <- m:
		default: // an answer nobody asked for
		}
	}
}

// fail ends every wait: the host's side of the stream closed.
// receive delivers the replies of a stream's messages until the stream
// ends, then fails the waiters with its error; pick gives a message's
// reply and its id (a nil reply: the message carries none).
func receive[M any, T comparable](r *replies[T], recv func() (M, error), pick func(M) (uint64, T)) {
	var none T
	for {
		m, err := recv()
		if err != nil {
			r.fail(err)
			return
		}
		if id, v := pick(m); v != none {
			r.deliver(id, v)
		}
	}
}

func (r *replies[T]) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
		close(r.dead)
	}
}

func (r *replies[T]) wait(ctx context.Context, ch chan T) (T, error) {
	var zero T
	select {
	case m := <-ch:
		return m, nil
	case <-r.dead:
		return zero, fmt.Errorf("plat closed the call: %w", r.err)
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// hostFile reads one file's content from the host, a chunk per request.
type hostFile struct {
	ctx  context.Context
	r    *replies[*pluginv1.Content]
	send func(*pluginv1.PublishResponse) error
	id   uint64
	ch   chan *pluginv1.Content
	sha  string
	buf  []byte
	eof  bool
	mu   sync.Mutex
}

func (f *hostFile) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.buf) == 0 {
		if f.eof {
			return 0, io.EOF
		}
		if err := f.send(&pluginv1.PublishResponse{Msg: &pluginv1.PublishResponse_Read{Read: &pluginv1.ReadContent{OpenId: f.id, Sha256: f.sha}}}); err != nil {
			return 0, fmt.Errorf("read %s from plat: %w", f.sha, err)
		}
		c, err := f.r.wait(f.ctx, f.ch)
		if err != nil {
			return 0, fmt.Errorf("read %s from plat: %w", f.sha, err)
		}
		if c.GetError() != "" {
			return 0, errors.New(c.GetError())
		}
		f.buf, f.eof = c.GetData(), c.GetEof()
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

func (f *hostFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.r.close(f.id)
	if !f.eof {
		f.eof, f.buf = true, nil
		// The host releases its reader; the answer is not awaited.
		return f.send(&pluginv1.PublishResponse{Msg: &pluginv1.PublishResponse_Read{Read: &pluginv1.ReadContent{OpenId: f.id, Sha256: f.sha, Close: true}}})
	}
	return nil
}

func (s *server) Publish(stream pluginv1.Provider_PublishServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "publish: first message is not start")
	}
	sch, err := s.scheduler(start.GetProviderId())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	send := lockedSend(stream.Send)
	r := newReplies[*pluginv1.Content]()
	go receive(r, stream.Recv, func(m *pluginv1.PublishRequest) (uint64, *pluginv1.Content) {
		return m.GetContent().GetOpenId(), m.GetContent()
	})
	req := &platform.PublishRequest{
		App: wire.AppFromProto(start.GetApp()), Env: wire.EnvFromProto(start.GetEnv()), StateDir: start.GetStateDir(),
		Release: wire.ReleaseFromProto(start.GetRelease()), Tree: wire.TreeFromProto(start.GetTree()),
		Base: start.GetBase(), BaseTree: wire.TreeFromProto(start.GetBaseTree()),
		Open: func(sha string) (io.ReadCloser, error) {
			id, ch := r.open()
			return &hostFile{ctx: ctx, r: r, send: send, id: id, ch: ch, sha: sha}, nil
		},
		Progress: func(line string) {
			_ = send(&pluginv1.PublishResponse{Msg: &pluginv1.PublishResponse_Progress{Progress: line}})
		},
	}
	resp, err := sch.Publish(ctx, req)
	if err != nil {
		return toStatus(ctx, err)
	}
	return send(&pluginv1.PublishResponse{Msg: &pluginv1.PublishResponse_Done{Done: &pluginv1.PublishResult{Artifact: resp.Artifact, Note: resp.Note}}})
}

func (s *server) Deploy(stream pluginv1.Provider_DeployServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "deploy: first message is not start")
	}
	sch, err := s.scheduler(start.GetProviderId())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	send := lockedSend(stream.Send)
	r := newReplies[*pluginv1.ConfirmAnswer]()
	go receive(r, stream.Recv, func(m *pluginv1.DeployRequest) (uint64, *pluginv1.ConfirmAnswer) {
		return m.GetAnswer().GetId(), m.GetAnswer()
	})
	req := &platform.DeployRequest{
		App: wire.AppFromProto(start.GetApp()), Env: wire.EnvFromProto(start.GetEnv()), StateDir: start.GetStateDir(),
		Release: wire.ReleaseFromProto(start.GetRelease()), Artifact: start.GetArtifact(),
		Processes: start.GetProcesses(), Environ: start.GetEnviron(), Secrets: start.GetSecrets(),
		Private: wire.PrivateFromProto(start.GetPrivate()), Tasks: wire.TasksFromProto(start.GetTasks()),
		Health: wire.HealthFromProto(start.GetHealth()), Rollout: wire.RolloutFromProto(start.GetRollout()),
		Event: start.GetEvent(), Previous: start.GetPrevious(),
		Progress: func(line string) {
			_ = send(&pluginv1.DeployResponse{Msg: &pluginv1.DeployResponse_Progress{Progress: line}})
		},
	}
	if start.GetCanConfirm() {
		req.Confirm = func(ctx context.Context, question string) (bool, error) {
			id, ch := r.open()
			defer r.close(id)
			if err := send(&pluginv1.DeployResponse{Msg: &pluginv1.DeployResponse_Confirm{Confirm: &pluginv1.ConfirmQuestion{Id: id, Question: question}}}); err != nil {
				return false, fmt.Errorf("ask plat: %w", err)
			}
			a, err := r.wait(ctx, ch)
			if err != nil {
				return false, err
			}
			if a.GetError() != "" {
				return false, errors.New(a.GetError())
			}
			return a.GetYes(), nil
		}
	}
	resp, err := sch.Deploy(ctx, req)
	if err != nil && ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	res := &pluginv1.DeployResult{}
	if resp != nil {
		res.Services, res.Urls = wire.ServicesToProto(resp.Services), resp.URLs
	}
	if err != nil {
		res.Error = err.Error()
		var re *platform.RolloutError
		if errors.As(err, &re) {
			res.RolloutFailure = &pluginv1.RolloutFailure{Service: re.Service, State: re.State, Reason: re.Reason}
		}
	}
	return send(&pluginv1.DeployResponse{Msg: &pluginv1.DeployResponse_Done{Done: res}})
}

func (s *server) Inspect(ctx context.Context, req *pluginv1.InspectRequest) (*pluginv1.InspectResponse, error) {
	sch, err := s.scheduler(req.GetProviderId())
	if err != nil {
		return nil, err
	}
	resp, err := sch.Inspect(ctx, &platform.InspectRequest{App: wire.AppFromProto(req.GetApp()), Env: wire.EnvFromProto(req.GetEnv()), StateDir: req.GetStateDir()})
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	return &pluginv1.InspectResponse{Services: wire.ServicesToProto(resp.Services), History: wire.HistoryToProto(resp.History)}, nil
}

// chunkWriter sends what it is given in messages of at most chunkSize.
type chunkWriter func([]byte) error

func (w chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := p[:min(len(p), chunkSize)]
		if err := w(c); err != nil {
			return n, err
		}
		n += len(c)
		p = p[len(c):]
	}
	return n, nil
}

func (s *server) Logs(req *pluginv1.LogsRequest, stream pluginv1.Provider_LogsServer) error {
	sch, err := s.scheduler(req.GetProviderId())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	send := lockedSend(stream.Send)
	err = sch.Logs(ctx, &platform.LogsRequest{
		App: wire.AppFromProto(req.GetApp()), Env: wire.EnvFromProto(req.GetEnv()), StateDir: req.GetStateDir(),
		Processes: req.GetProcesses(), Lines: int(req.GetLines()), Follow: req.GetFollow(),
		Output: chunkWriter(func(b []byte) error {
			return send(&pluginv1.LogsResponse{Output: append([]byte(nil), b...)})
		}),
	})
	if err != nil {
		return toStatus(ctx, err)
	}
	return nil
}

func (s *server) Exec(stream pluginv1.Provider_ExecServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return status.Error(codes.InvalidArgument, "exec: first message is not start")
	}
	sch, err := s.scheduler(start.GetProviderId())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	send := lockedSend(stream.Send)
	cmd := &platform.Command{
		Args: start.GetArgs(), Dir: start.GetDir(), Env: start.GetEnvVars(),
		Stdout: chunkWriter(func(b []byte) error {
			return send(&pluginv1.ExecResponse{Msg: &pluginv1.ExecResponse_Stdout{Stdout: append([]byte(nil), b...)}})
		}),
		Stderr: chunkWriter(func(b []byte) error {
			return send(&pluginv1.ExecResponse{Msg: &pluginv1.ExecResponse_Stderr{Stderr: append([]byte(nil), b...)}})
		}),
	}
	if start.GetStdin() {
		r, w := io.Pipe()
		cmd.Stdin = r
		defer r.CloseWithError(io.ErrClosedPipe)
		go pumpStdin(stream.Recv, w, func(m *pluginv1.ExecRequest) ([]byte, bool) {
			switch x := m.GetMsg().(type) {
			case *pluginv1.ExecRequest_Stdin:
				return x.Stdin, false
			case *pluginv1.ExecRequest_StdinEof:
				return nil, true
			}
			return nil, false
		})
	}
	res, err := runResult(ctx, sch.Exec(ctx, &platform.ScheduledExecRequest{
		App: wire.AppFromProto(start.GetApp()), Env: wire.EnvFromProto(start.GetEnv()), StateDir: start.GetStateDir(),
		Process: start.GetProcess(), Task: start.GetTask(), Command: cmd,
	}))
	if err != nil {
		return err
	}
	return send(&pluginv1.ExecResponse{Msg: &pluginv1.ExecResponse_Result{Result: res}})
}
