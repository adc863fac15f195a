package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins/internal/wire"
	pluginv1 "github.com/plat-sh/plat/plugins/proto"
)

// The host side of the engine provider RPCs: a configured provider whose
// plugin declared ABILITY_SCHEDULER is a platform.Scheduler here, so the
// engine's scheduled path (push, rollback, status, releases, logs, exec)
// runs through the plugin exactly as through a built-in engine provider.
// A plugin that never declares the ability (one built before the RPCs
// existed) stays a host provider.

// contentChunk bounds the file content sent per read (gRPC's default
// receive limit is 4 MiB).
const contentChunk = 256 << 10

// remoteScheduler is the Scheduler half of a remote provider.
type remoteScheduler struct{ p *remoteProvider }

// schedulerProvider wraps a configured provider with the Scheduler ability
// and whichever of Provisioner and MachineStatuser it has too.
func schedulerProvider(base *remoteProvider, prov, mach bool) platform.Provider {
	s := remoteScheduler{base}
	switch {
	case prov && mach:
		return &schedulerProvisionerStatuser{base, s, upDown{base}, machines{base}}
	case prov:
		return &schedulerProvisioner{base, s, upDown{base}}
	case mach:
		return &schedulerStatuser{base, s, machines{base}}
	}
	return &schedulerOnly{base, s}
}

type schedulerOnly struct {
	*remoteProvider
	remoteScheduler
}

type schedulerProvisioner struct {
	*remoteProvider
	remoteScheduler
	upDown
}

type schedulerStatuser struct {
	*remoteProvider
	remoteScheduler
	machines
}

type schedulerProvisionerStatuser struct {
	*remoteProvider
	remoteScheduler
	upDown
	machines
}

// fail is Client.fail with the hint a plugin that declared the ability
// but lacks an RPC needs.
func (s remoteScheduler) fail(ctx context.Context, op string, err error) error {
	if ctx.Err() == nil && status.Code(err) == codes.Unimplemented {
		return &Error{Plugin: s.p.c.name, Op: op, Err: fmt.Errorf("the plugin declares the engine (scheduler) ability but does not implement %s: %s; rebuild it with a current plugins/sdk", op, status.Convert(err).Message())}
	}
	return s.p.c.fail(ctx, op, "", err)
}

// Publish sends the release tree and answers the plugin's reads of file
// content from req.Open, one chunk per read.
func (s remoteScheduler) Publish(ctx context.Context, req *platform.PublishRequest) (*platform.PublishResponse, error) {
	cctx, cancel := callCtx(ctx)
	defer cancel()
	stream, err := s.p.c.rpc.Publish(cctx)
	if err != nil {
		return nil, s.fail(ctx, "publish", err)
	}
	start := &pluginv1.PublishStart{ProviderId: s.p.id, App: wire.AppToProto(req.App), Env: wire.EnvToProto(req.Env), StateDir: req.StateDir,
		Release: wire.ReleaseToProto(req.Release), Tree: wire.TreeToProto(req.Tree), Base: req.Base, BaseTree: wire.TreeToProto(req.BaseTree)}
	if err := stream.Send(&pluginv1.PublishRequest{Msg: &pluginv1.PublishRequest_Start{Start: start}}); err != nil {
		return nil, s.fail(ctx, "publish", recvAfterSend(stream.Recv, err))
	}
	open := map[uint64]io.ReadCloser{}
	defer func() {
		for _, r := range open {
			r.Close()
		}
	}()
	buf := make([]byte, contentChunk)
	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("plugin ended the call without a result")
			}
			return nil, s.fail(ctx, "publish", err)
		}
		switch x := m.GetMsg().(type) {
		case *pluginv1.PublishResponse_Progress:
			if req.Progress != nil {
				req.Progress(x.Progress)
			}
		case *pluginv1.PublishResponse_Read:
			c := readChunk(req.Open, open, x.Read, buf)
			if c == nil {
				continue // a close: the plugin awaits no answer
			}
			if err := stream.Send(&pluginv1.PublishRequest{Msg: &pluginv1.PublishRequest_Content{Content: c}}); err != nil {
				return nil, s.fail(ctx, "publish", recvAfterSend(stream.Recv, err))
			}
		case *pluginv1.PublishResponse_Done:
			_ = stream.CloseSend()
			return &platform.PublishResponse{Artifact: x.Done.GetArtifact(), Note: x.Done.GetNote()}, nil
		}
	}
}

// readChunk answers one read: the next chunk of the file open under the
// read's id (opened on its first read, closed at its end). A close
// releases the file and gets no answer (nil).
func readChunk(openFn func(string) (io.ReadCloser, error), open map[uint64]io.ReadCloser, rd *pluginv1.ReadContent, buf []byte) *pluginv1.Content {
	id := rd.GetOpenId()
	c := &pluginv1.Content{OpenId: id}
	r, ok := open[id]
	if rd.GetClose() {
		if ok {
			r.Close()
			delete(open, id)
		}
		return nil
	}
	if !ok {
		if openFn == nil {
			c.Error = "plat has no content to give for " + rd.GetSha256()
			return c
		}
		var err error
		if r, err = openFn(rd.GetSha256()); err != nil {
			c.Error = fmt.Sprintf("open %s: %v", rd.GetSha256(), err)
			return c
		}
		open[id] = r
	}
	n, err := io.ReadFull(r, buf)
	c.Data = append([]byte(nil), buf[:n]...)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		c.Eof = true
	default:
		c.Error = fmt.Sprintf("read %s: %v", rd.GetSha256(), err)
	}
	if c.Eof || c.Error != "" {
		r.Close()
		delete(open, id)
	}
	return c
}

// Deploy sends the request and answers the plugin's confirmation
// questions with req.Confirm. A failed deploy still reports the services;
// an update the engine stopped is a *platform.RolloutError.
func (s remoteScheduler) Deploy(ctx context.Context, req *platform.DeployRequest) (*platform.DeployResponse, error) {
	cctx, cancel := callCtx(ctx)
	defer cancel()
	stream, err := s.p.c.rpc.Deploy(cctx)
	if err != nil {
		return nil, s.fail(ctx, "deploy", err)
	}
	start := &pluginv1.DeployStart{ProviderId: s.p.id, App: wire.AppToProto(req.App), Env: wire.EnvToProto(req.Env), StateDir: req.StateDir,
		Release: wire.ReleaseToProto(req.Release), Artifact: req.Artifact, Processes: req.Processes, Environ: req.Environ, Secrets: req.Secrets,
		Private: wire.PrivateToProto(req.Private), Tasks: wire.TasksToProto(req.Tasks), Health: wire.HealthToProto(req.Health),
		Rollout: wire.RolloutToProto(req.Rollout), Event: req.Event, Previous: req.Previous, CanConfirm: req.Confirm != nil}
	if err := stream.Send(&pluginv1.DeployRequest{Msg: &pluginv1.DeployRequest_Start{Start: start}}); err != nil {
		return nil, s.fail(ctx, "deploy", recvAfterSend(stream.Recv, err))
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("plugin ended the call without a result")
			}
			return nil, s.fail(ctx, "deploy", err)
		}
		switch x := m.GetMsg().(type) {
		case *pluginv1.DeployResponse_Progress:
			if req.Progress != nil {
				req.Progress(x.Progress)
			}
		case *pluginv1.DeployResponse_Confirm:
			a := &pluginv1.ConfirmAnswer{Id: x.Confirm.GetId()}
			if req.Confirm == nil {
				a.Error = "plat cannot ask (the run is not interactive)"
			} else if yes, err := req.Confirm(ctx, x.Confirm.GetQuestion()); err != nil {
				a.Error = err.Error()
			} else {
				a.Yes = yes
			}
			if err := stream.Send(&pluginv1.DeployRequest{Msg: &pluginv1.DeployRequest_Answer{Answer: a}}); err != nil {
				return nil, s.fail(ctx, "deploy", recvAfterSend(stream.Recv, err))
			}
		case *pluginv1.DeployResponse_Done:
			_ = stream.CloseSend()
			d := x.Done
			resp := &platform.DeployResponse{Services: wire.ServicesFromProto(d.GetServices()), URLs: d.GetUrls()}
			if d.GetError() == "" {
				return resp, nil
			}
			var cause error = errors.New(d.GetError())
			if f := d.GetRolloutFailure(); f != nil {
				cause = &platform.RolloutError{Service: f.GetService(), State: f.GetState(), Reason: f.GetReason()}
			}
			return resp, &Error{Plugin: s.p.c.name, Op: "deploy", Err: cause}
		}
	}
}

func (s remoteScheduler) Inspect(ctx context.Context, req *platform.InspectRequest) (*platform.InspectResponse, error) {
	cctx, cancel := callCtx(ctx)
	defer cancel()
	resp, err := s.p.c.rpc.Inspect(cctx, &pluginv1.InspectRequest{ProviderId: s.p.id, App: wire.AppToProto(req.App), Env: wire.EnvToProto(req.Env), StateDir: req.StateDir})
	if err != nil {
		return nil, s.fail(ctx, "inspect", err)
	}
	return &platform.InspectResponse{Services: wire.ServicesFromProto(resp.GetServices()), History: wire.HistoryFromProto(resp.GetHistory())}, nil
}

func (s remoteScheduler) Logs(ctx context.Context, req *platform.LogsRequest) error {
	cctx, cancel := callCtx(ctx)
	defer cancel()
	stream, err := s.p.c.rpc.Logs(cctx, &pluginv1.LogsRequest{ProviderId: s.p.id, App: wire.AppToProto(req.App), Env: wire.EnvToProto(req.Env), StateDir: req.StateDir,
		Processes: req.Processes, Lines: int32(req.Lines), Follow: req.Follow})
	if err != nil {
		return s.fail(ctx, "logs", err)
	}
	out := req.Output
	if out == nil {
		out = io.Discard
	}
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return s.fail(ctx, "logs", err)
		}
		if _, err := out.Write(m.GetOutput()); err != nil {
			return &Error{Plugin: s.p.c.name, Op: "logs", Err: fmt.Errorf("write output: %w", err)}
		}
	}
}

// Exec streams the command through the plugin, as Run does for a
// transport (no terminal: protocol v1 has no message for one).
func (s remoteScheduler) Exec(ctx context.Context, req *platform.ScheduledExecRequest) error {
	c, cmd := s.p.c, req.Command
	target := req.Process
	if req.Task != "" {
		target = req.Task
	}
	if cmd.TTY != nil {
		return &Error{Plugin: c.name, Op: "exec", Target: target,
			Err: fmt.Errorf("%w: plugin protocol v1 carries stdin and output but no terminal; run without -t (stdin is still forwarded with -i)", platform.ErrNoTTY)}
	}
	cctx, cancel := callCtx(ctx)
	defer cancel()
	stream, err := c.rpc.Exec(cctx)
	if err != nil {
		return s.fail(ctx, "exec", err)
	}
	start := &pluginv1.ExecStart{ProviderId: s.p.id, App: wire.AppToProto(req.App), Env: wire.EnvToProto(req.Env), StateDir: req.StateDir,
		Process: req.Process, Task: req.Task, Args: cmd.Args, Dir: cmd.Dir, EnvVars: cmd.Env, Stdin: cmd.Stdin != nil}
	if err := stream.Send(&pluginv1.ExecRequest{Msg: &pluginv1.ExecRequest_Start{Start: start}}); err != nil {
		return s.fail(ctx, "exec", recvAfterSend(stream.Recv, err))
	}
	if cmd.Stdin != nil {
		go func() {
			b := make([]byte, stdinChunk)
			for {
				n, err := cmd.Stdin.Read(b)
				if n > 0 {
					if stream.Send(&pluginv1.ExecRequest{Msg: &pluginv1.ExecRequest_Stdin{Stdin: append([]byte(nil), b[:n]...)}}) != nil {
						return
					}
				}
				if err != nil {
					_ = stream.Send(&pluginv1.ExecRequest{Msg: &pluginv1.ExecRequest_StdinEof{StdinEof: &pluginv1.StdinEOF{}}})
					_ = stream.CloseSend()
					return
				}
			}
		}()
	} else {
		_ = stream.CloseSend()
	}
	stdout, stderr := cmd.Stdout, cmd.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("plugin ended the command stream without a result")
			}
			return s.fail(ctx, "exec", err)
		}
		switch x := m.GetMsg().(type) {
		case *pluginv1.ExecResponse_Stdout:
			if _, err := stdout.Write(x.Stdout); err != nil {
				return &Error{Plugin: c.name, Op: "exec", Target: target, Err: fmt.Errorf("write stdout: %w", err)}
			}
		case *pluginv1.ExecResponse_Stderr:
			if _, err := stderr.Write(x.Stderr); err != nil {
				return &Error{Plugin: c.name, Op: "exec", Target: target, Err: fmt.Errorf("write stderr: %w", err)}
			}
		case *pluginv1.ExecResponse_Result:
			res := x.Result
			if res.GetError() != "" {
				return &Error{Plugin: c.name, Op: "exec", Target: target, Err: errors.New(res.GetError())}
			}
			if res.GetExitCode() != 0 {
				return &platform.ExitError{Code: int(res.GetExitCode()), Stderr: res.GetStderrTail()}
			}
			return nil
		}
	}
}

// recvAfterSend returns a stream's real error after a failed Send (gRPC
// reports io.EOF on Send and the status on Recv).
func recvAfterSend[T any](recv func() (T, error), sendErr error) error {
	if !errors.Is(sendErr, io.EOF) {
		return sendErr
	}
	if _, err := recv(); err != nil {
		return err
	}
	return sendErr
}

var (
	_ platform.Scheduler       = (*schedulerOnly)(nil)
	_ platform.Scheduler       = (*schedulerProvisioner)(nil)
	_ platform.Provisioner     = (*schedulerProvisioner)(nil)
	_ platform.Scheduler       = (*schedulerStatuser)(nil)
	_ platform.MachineStatuser = (*schedulerStatuser)(nil)
	_ platform.Scheduler       = (*schedulerProvisionerStatuser)(nil)
	_ platform.Provisioner     = (*schedulerProvisionerStatuser)(nil)
	_ platform.MachineStatuser = (*schedulerProvisionerStatuser)(nil)
)
