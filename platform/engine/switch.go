package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
)

// stages splits targets into cumulative rollout stages: [1, "50%",
// "100%"] over 6 hosts gives [web1] [web2 web3] [web4 web5 web6]. The last
// stage always covers every host.
func stages(spec []string, ts []*platform.Target) ([][]*platform.Target, error) {
	n := len(ts)
	var out [][]*platform.Target
	done := 0
	for _, s := range spec {
		upto, err := stageCount(s, n)
		if err != nil {
			return nil, err
		}
		if upto > n {
			upto = n
		}
		if upto <= done {
			continue
		}
		out = append(out, ts[done:upto])
		done = upto
	}
	if done < n {
		out = append(out, ts[done:])
	}
	return out, nil
}

// stageCount turns "3" or "25%" into a cumulative host count (percentages
// round up, so a stage is never empty).
func stageCount(s string, n int) (int, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 || f > 100 {
			return 0, fmt.Errorf("%w: rollout stage %q is not a percentage in (0, 100]", ErrConfig, s)
		}
		return int(math.Ceil(f / 100 * float64(n))), nil
	}
	c, err := strconv.Atoi(s)
	if err != nil || c <= 0 {
		return 0, fmt.Errorf("%w: rollout stage %q is not a positive count or percentage", ErrConfig, s)
	}
	return c, nil
}

// maxFailures turns "1" or "10%" into a count of tolerated host failures.
func maxFailures(s string, n int) int {
	if s == "" {
		return 0
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, _ := strconv.ParseFloat(p, 64)
		return int(math.Floor(f / 100 * float64(n)))
	}
	c, _ := strconv.Atoi(s)
	return c
}

// switchStages switches pending hosts stage by stage. A host whose health
// check fails goes back to its previous release at once (its list's
// undo). When failures exceed max_failures, on_failure decides:
// "rollback" returns every switched host to its previous release; "halt"
// stops and leaves them.
func (p *push) switchStages(ctx context.Context, pending []*platform.Target) error {
	ro := p.env.Rollout
	plan, err := stages(ro.Stages, pending)
	if err != nil {
		return err
	}
	run := stagedRun{what: "push", parallel: ro.MaxParallel, budget: maxFailures(ro.MaxFailures, len(p.targets)), pause: p.pause}
	for _, stage := range plan {
		var lists []hostSteps
		for _, t := range stage {
			p.mu.Lock()
			p.prev[t.Name] = previousRelease(p.states[t.Name], p.rel.ID)
			p.mu.Unlock()
			lists = append(lists, hostSteps{t, p.switchList(t)})
		}
		run.stages = append(run.stages, lists)
	}
	res := p.exec().runStages(ctx, run)
	if res.stop != nil {
		return p.abort(ctx, res.done, res.stop)
	}
	if failures := len(res.failed); failures > 0 {
		// Within max_failures: the push ends, its history recorded on every
		// host, and fails so that the hosts switched back are not missed.
		p.finish(ctx, platform.OutcomeFailed)
		what := "were switched back"
		if n := p.strandedCount(); n > 0 {
			what = fmt.Sprintf("were switched back, but for %d that could not be reached again", n)
		}
		return &DeployError{Op: fmt.Sprintf("%d of %d hosts failed and %s (max_failures = %s); the others run %s\nhint: fix the cause, then `plat push %s --resume` retries them",
			failures, len(pending), what, orZero(ro.MaxFailures), p.rel.ID, p.env.Name), Hosts: res.failed}
	}
	return nil
}

// abort applies on_failure after a failed stage: "halt" leaves the
// switched hosts as they are; "rollback" runs each one's generated list
// back to its previous release.
func (p *push) abort(ctx context.Context, switched []*platform.Target, cause error) error {
	e := p.e
	policy := p.env.Rollout.OnFailure
	if policy == "" {
		policy = platform.OnFailureRollback
	}
	for _, t := range p.pendingTargets() {
		p.mu.Lock()
		if p.rows[t.Name].Status == platform.HostUploaded {
			p.rows[t.Name].Status = platform.HostNotSwitched
		}
		p.mu.Unlock()
	}
	if policy == platform.OnFailureHalt {
		if len(switched) > 0 {
			msg := fmt.Sprintf("halted: %s stay on %s; `plat push %s --resume` finishes the rest, `plat rollback %s` undoes it",
				strings.Join(names(switched), ", "), p.rel.ID, p.env.Name, p.env.Name)
			e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: msg})
			cause = fmt.Errorf("%w\n%s", cause, msg)
		}
		p.finish(ctx, platform.OutcomeHalted)
		return cause
	}
	rctx := context.WithoutCancel(ctx)
	var lists []hostSteps
	for _, t := range switched {
		lists = append(lists, hostSteps{t, p.backList(t)})
	}
	errs := p.exec().runAll(rctx, lists, 0, nil)
	p.finish(rctx, platform.OutcomeRolledBack)
	_ = e.runHooks(rctx, p.env, platform.HookRolledBack, p.hookEnv(cause.Error()), p.targets)
	if len(errs) > 0 {
		return fmt.Errorf("%w\nrolling back also failed: %v", cause, &DeployError{Op: "rollback", Hosts: errs})
	}
	if n := p.strandedCount(); n > 0 {
		return fmt.Errorf("%w\nevery switched host is back on its previous release, but for %d failed host that could not be reached again (see above)", cause, n)
	}
	return fmt.Errorf("%w\nevery switched host is back on its previous release", cause)
}

// strandedCount is how many failed hosts could not be reached again to
// switch them back.
func (p *push) strandedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.stranded)
}

// checkConfirm refuses, before anything changes, a rollout that would
// stop at a "confirm" pause no one can answer: a run that is not
// interactive must pass --yes instead of failing after its first stage.
func (p *push) checkConfirm() error {
	ro := p.env.Rollout
	if !ro.Confirm || p.opts.Yes || p.opts.Plan || p.e.Confirm != nil {
		return nil
	}
	st, err := stages(ro.Stages, p.targets)
	if err != nil || len(st) < 2 {
		return nil
	}
	return fmt.Errorf("%w: the rollout of %s asks before each of its %d stages (pause = \"confirm\") but this run is not interactive; nothing was changed\nhint: pass --yes to roll out every stage without asking", ErrConfig, p.env.Name, len(st))
}

// pause waits between stages: a duration, or a confirmation.
func (p *push) pause(ctx context.Context, next, total int) error {
	return p.e.pauseStage(ctx, p.env.Rollout, p.opts.Yes, next, total, p.rel.ID)
}

// pauseStage waits before stage next+1 of total of what (a release id, or
// "the restart"): the rollout's pause duration, or its confirmation.
func (e *Engine) pauseStage(ctx context.Context, ro platform.Rollout, yes bool, next, total int, what string) error {
	if ro.Confirm {
		if yes {
			return nil
		}
		if e.Confirm == nil {
			return fmt.Errorf("%w: rollout pause is \"confirm\" but this run is not interactive: pass --yes to continue without asking", ErrConfig)
		}
		ok, err := e.Confirm(ctx, fmt.Sprintf("Continue with stage %d/%d of %s?", next+1, total, what))
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("stopped at the user's request")
		}
		return nil
	}
	if ro.Pause > 0 {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("pausing %s before stage %d/%d", ro.Pause, next+1, total)})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(ro.Pause):
		}
	}
	return nil
}

// deactivate stops the processes of release id on t and removes current,
// for a host that had no release before id.
func (e *Engine) deactivate(ctx context.Context, t *platform.Target, env *platform.Environment, id string) error {
	if err := e.supervisor(env, t).Stop(ctx, 0); err != nil {
		return fmt.Errorf("stop processes: %w", err)
	}
	if _, err := run(ctx, t, hostcmd.Unswitch(t.DeployTo, id)); err != nil {
		return fmt.Errorf("remove current: %w", err)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func names(ts []*platform.Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func (p *push) processEnvFor(t *platform.Target, id string) map[string]string {
	vars := p.processEnv(t)
	vars["PLAT_RELEASE"] = id
	return vars
}

func readProcesses(ctx context.Context, t *platform.Target, id string) map[string]string {
	out, err := run(ctx, t, &platform.Command{Args: []string{"cat", t.DeployTo + "/releases/" + id + "/Procfile"}})
	if err != nil {
		return nil
	}
	procs, _ := platform.ParseProcfile(strings.NewReader(out))
	return procs
}

// activate makes id current on t and (re)starts its processes, as t's
// Supervisor does it (supervisor.go).
func (e *Engine) activate(ctx context.Context, t *platform.Target, env *platform.Environment, id string, penv map[string]string, procs map[string]string) error {
	return e.supervisor(env, t).Activate(ctx, id, procs, penv)
}

// health returns the gate: the rollout's health block, else the app's.
func (e *Engine) health(env *platform.Environment) *platform.HealthCheck {
	if env.Rollout.Health != nil {
		return env.Rollout.Health
	}
	return e.Project.App.Health
}

func healthLabel(h *platform.HealthCheck) string {
	switch {
	case h == nil:
		return "none configured"
	case h.HTTP != "":
		return "GET " + h.HTTP
	case h.TCP:
		return "tcp"
	case len(h.Command) > 0:
		return strings.Join(h.Command, " ")
	}
	return ""
}

// checkHealth is the health gate of env on t: it proves that the web
// process plat started for the release is the one listening on the
// target's port (see ownPort), then polls the check until it passes, or
// fails after retries. A web process that exits fails the gate at once.
func (e *Engine) checkHealth(ctx context.Context, t *platform.Target, env *platform.Environment) error {
	h := e.health(env)
	if h == nil {
		return nil
	}
	timeout, interval, retries := h.Timeout, h.Interval, h.Retries // platform.FillDefaults set them
	supervised, err := e.ownPort(ctx, t, env, platform.ListenTimeout(h))
	if err != nil {
		return err
	}
	var last error
	for i := 0; i < retries; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(interval):
			}
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		last = e.probe(cctx, t, h)
		cancel()
		if last == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(last, platform.ErrConnectionLost) {
			return fmt.Errorf("health check: %w", last)
		}
		if supervised {
			// Still the web process's port? A crash after binding, or
			// another process that took the port, fails now.
			if _, err := e.ownPort(ctx, t, env, 0); err != nil {
				return fmt.Errorf("health check failed (%v) and %w", last, err)
			}
		}
	}
	return fmt.Errorf("health check failed after %d tries: %w", retries, last)
}

// ownPort waits up to wait until the web process that plat supervises on
// t (pid file or systemd unit) holds the only listening socket on the
// target's port. It reports false, with no error, where plat supervises
// no web process (no web type, the app's own restart command) or the host
// cannot tell (no /proc, said once per host).
func (e *Engine) ownPort(ctx context.Context, t *platform.Target, env *platform.Environment, wait time.Duration) (bool, error) {
	owns := e.supervisor(env, t).Owns(t.Port, wait)
	if owns == nil || t.Port == 0 {
		return false, nil
	}
	_, err := run(ctx, t, owns)
	switch code := platform.ExitCode(err); {
	case err == nil:
		return true, nil
	case code == hostcmd.ExitListenNoProcess:
		return false, nil
	case code == hostcmd.ExitListenUnknown:
		e.emit(platform.Event{Type: platform.EventLog, Host: t.Name, Message: "this host has no /proc/net/tcp: the health check cannot prove that the answer comes from the new web process"})
		return false, nil
	case code > 0:
		var ee *platform.ExitError
		if errors.As(err, &ee) && ee.Stderr != "" {
			return false, errors.New(strings.TrimPrefix(strings.TrimSpace(ee.Stderr), "plat: "))
		}
		return false, fmt.Errorf("the web process does not hold port %d: %w", t.Port, err)
	default:
		return false, err
	}
}

func (e *Engine) probe(ctx context.Context, t *platform.Target, h *platform.HealthCheck) error {
	addr := t.HealthAddr
	if h.Port != 0 {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			host = "127.0.0.1"
		}
		addr = net.JoinHostPort(host, strconv.Itoa(h.Port))
	}
	if addr == "" {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(t.Port))
	}
	dial := func(ctx context.Context, network, a string) (net.Conn, error) {
		if d, ok := t.Transport.(platform.Dialer); ok {
			return d.DialContext(ctx, network, a)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, a)
	}
	switch {
	case len(h.Command) > 0:
		cmd := hostcmd.InRelease(t.DeployTo, "", h.Command)
		cmd.Env = map[string]string{"PORT": strconv.Itoa(t.Port)}
		_, err := run(ctx, t, cmd)
		return err
	case h.TCP:
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	default:
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		if dl, ok := ctx.Deadline(); ok {
			_ = c.SetDeadline(dl)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+h.HTTP, nil)
		req.Header.Set("User-Agent", "plat-health")
		req.Close = true
		if err := req.Write(c); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64*1024))
		resp.Body.Close()
		if h.Status != 0 && resp.StatusCode != h.Status {
			return fmt.Errorf("GET %s: status %d, want %d", h.HTTP, resp.StatusCode, h.Status)
		}
		if h.Status == 0 && resp.StatusCode >= 400 {
			return fmt.Errorf("GET %s: status %d", h.HTTP, resp.StatusCode)
		}
		return nil
	}
}

// withLogTail adds the last lines of the web process's log to a failed
// health check, so the reason ("Address already in use", a traceback) is
// on the screen rather than only "connection refused".
func withLogTail(ctx context.Context, t *platform.Target, err error) error {
	out, lerr := run(ctx, t, hostcmd.Logs(t.DeployTo, 5, false, "web"))
	out = strings.TrimSpace(out)
	if lerr != nil || out == "" {
		return err
	}
	return fmt.Errorf("%w\nlast lines of the web process's log:\n%s", err, out)
}
