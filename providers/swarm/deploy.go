package swarm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/docker"
)

// envSecretFile is where the secret environment is mounted in a task.
const envSecretFile = "/run/secrets/plat-env"

// entrypoint runs a Procfile command after exporting the secret
// environment; the command is its one argument, never part of the script.
const entrypoint = `if [ -r ` + envSecretFile + ` ]; then set -a; . ` + envSecretFile + `; set +a; fi; exec /bin/sh -c "$1"`

// execScript is entrypoint for `plat exec`: the argv follows.
const execScript = `if [ -r ` + envSecretFile + ` ]; then set -a; . ` + envSecretFile + `; set +a; fi; exec "$@"`

// historyKeep is how many deploys the history label keeps.
const historyKeep = 30

// defaultTaskTimeout bounds a release task that sets no timeout.
const defaultTaskTimeout = 15 * time.Minute

// deploy is one Deploy in flight.
type deploy struct {
	p   *Provider
	c   *docker.Client
	req *platform.DeployRequest
	n   names
	// secrets are the references every task of the release gets.
	secrets []*swarm.SecretReference
	mounts  []mount.Mount
	log     func(string)
	// at is the deploy's time in the history.
	at time.Time
	// staged are the services updated stage by stage (pause = "confirm"):
	// their previous spec is no longer the one to roll back to.
	staged map[string]bool
}

// Deploy runs the release tasks as a job, then updates (or creates) one
// service per process type, web first, waiting for the engine to finish
// each update. See platform.Scheduler.
func (p *Provider) Deploy(ctx context.Context, req *platform.DeployRequest) (*platform.DeployResponse, error) {
	c, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	d := &deploy{p: p, c: c, req: req, n: namesOf(req.App, req.Env), log: req.Progress, at: time.Now().UTC().Truncate(time.Second), staged: map[string]bool{}}
	if d.log == nil {
		d.log = func(string) {}
	}
	if _, err := c.API().NetworkInspect(ctx, d.n.Network(), client.NetworkInspectOptions{}); err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("network %s not found: run `plat up %s` first", d.n.Network(), req.Env.Name)
		}
		return nil, fmt.Errorf("inspect network %s: %w", d.n.Network(), err)
	}
	if err := d.makeSecrets(ctx); err != nil {
		return nil, err
	}
	for _, dir := range req.App.LinkedDirs {
		d.mounts = append(d.mounts, mount.Mount{Type: mount.TypeVolume, Source: d.n.Volume(dir), Target: AppDir + "/" + dir,
			VolumeOptions: &mount.VolumeOptions{Labels: d.n.labels()}})
	}
	for _, t := range req.Tasks {
		if err := d.runJob(ctx, t); err != nil {
			return d.response(ctx), err
		}
	}
	existing, err := d.services(ctx)
	if err != nil {
		return nil, err
	}
	var updated []string
	for _, proc := range processOrder(req.Processes) {
		var id string
		var err error
		if cur, ok := existing[proc]; ok && d.confirmStages(proc) {
			// pause = "confirm": plat drives the stages and asks between
			// them (stages.go).
			updated = append(updated, cur.ID)
			d.staged[cur.ID] = true
			err = d.applyStaged(ctx, proc, cur)
		} else if id, err = d.apply(ctx, proc, existing[proc]); err == nil {
			updated = append(updated, id)
			err = d.wait(ctx, id, proc)
		}
		if err != nil {
			// halt leaves the services as the engine paused them, for a
			// look; rollback puts every process type back on the release
			// it ran.
			if req.Rollout.OnFailure != platform.OnFailureHalt {
				d.undo(ctx, updated, existing, err)
			}
			return d.response(ctx), err
		}
	}
	// Process types the Procfile no longer has.
	for proc, s := range existing {
		if _, ok := req.Processes[proc]; !ok {
			d.log("removing service " + s.Spec.Name + " (no " + proc + " in the Procfile of " + req.Release.ID + ")")
			if _, err := c.API().ServiceRemove(ctx, s.ID, client.ServiceRemoveOptions{}); err != nil {
				return d.response(ctx), fmt.Errorf("remove service %s: %w", s.Spec.Name, err)
			}
		}
	}
	d.pruneSecrets(ctx)
	return d.response(ctx), nil
}

// processOrder puts web first: it is the one a failed health check stops.
func processOrder(procs map[string]string) []string {
	out := sortedKeys(procs)
	sort.SliceStable(out, func(i, j int) bool { return out[i] == "web" && out[j] != "web" })
	return out
}

// services are the environment's process services by type.
func (d *deploy) services(ctx context.Context) (map[string]swarm.Service, error) {
	list, err := d.c.API().ServiceList(ctx, client.ServiceListOptions{Filters: d.n.filters(), Status: true})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	out := map[string]swarm.Service{}
	for _, s := range list.Items {
		if proc := s.Spec.Labels[LabelProcess]; proc != "" && s.Spec.Mode.Replicated != nil {
			out[proc] = s
		}
	}
	return out, nil
}

// makeSecrets creates the release's secret objects (the secret
// environment as one dotenv file, each private file as its own), unless
// they exist: a rollback finds them again.
func (d *deploy) makeSecrets(ctx context.Context) error {
	type item struct {
		name   string
		data   []byte
		target string
		mode   uint32
	}
	var items []item
	if len(d.req.Secrets) > 0 {
		items = append(items, item{name: d.n.prefix() + "-" + d.req.Release.ID + "-env", data: dotenv(d.req.Secrets), target: "plat-env", mode: 0o400})
	}
	for i, f := range d.req.Private {
		mode := uint32(f.Mode.Perm())
		if mode == 0 || mode&0o077 != 0 {
			mode = 0o600
		}
		items = append(items, item{name: fmt.Sprintf("%s-%s-file%d", d.n.prefix(), d.req.Release.ID, i+1), data: f.Content, target: AppDir + "/" + f.Path, mode: mode})
	}
	for _, it := range items {
		labels := d.n.labels()
		labels[LabelRelease] = d.req.Release.ID
		id := ""
		if s, err := d.c.API().SecretInspect(ctx, it.name, client.SecretInspectOptions{}); err == nil {
			id = s.Secret.ID
		} else if !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("inspect secret %s: %w", it.name, err)
		} else {
			r, err := d.c.API().SecretCreate(ctx, client.SecretCreateOptions{Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: it.name, Labels: labels}, Data: it.data}})
			if err != nil {
				return fmt.Errorf("create secret %s: %w", it.name, err)
			}
			id = r.ID
		}
		d.secrets = append(d.secrets, &swarm.SecretReference{SecretID: id, SecretName: it.name,
			File: &swarm.SecretReferenceFileTarget{Name: it.target, UID: "0", GID: "0", Mode: fileMode(it.mode)}})
	}
	return nil
}

// dotenv renders secrets as lines a POSIX shell sources: every value in
// single quotes, a quote in it closed, escaped and reopened.
func dotenv(m map[string]string) []byte {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%s='%s'\n", k, strings.ReplaceAll(m[k], "'", `'\''`))
	}
	return []byte(b.String())
}

// spec is the service of one process type (or a release task's job).
func (d *deploy) spec(name, proc, command string) swarm.ServiceSpec {
	req := d.req
	labels := d.n.labels()
	labels[LabelProcess] = proc
	labels[LabelRelease] = req.Release.ID
	env := []string{}
	for _, k := range sortedKeys(req.Environ) {
		env = append(env, k+"="+req.Environ[k])
	}
	env = append(env, "PORT="+strconv.Itoa(webPort(req.Health)), "PLAT_PROCESS="+proc, "PLAT_HOST={{.Task.Name}}")
	cs := &swarm.ContainerSpec{
		Image: req.Artifact, Labels: labels, Command: []string{"/bin/sh", "-c", entrypoint, "plat", command},
		Env: env, Dir: AppDir, Mounts: d.mounts, Secrets: d.secrets,
	}
	if dt := req.Rollout.DrainTimeout; dt > 0 {
		cs.StopGracePeriod = &dt
	}
	if proc == "web" {
		cs.Healthcheck = healthcheck(req.Health)
	}
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: labels},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: cs, Networks: []swarm.NetworkAttachmentConfig{{Target: d.n.Network(), Aliases: []string{proc}}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}},
	}
	return spec
}

// healthcheck is the health block as the container's health check.
func healthcheck(h *platform.HealthCheck) *container.HealthConfig {
	if h == nil {
		return nil
	}
	port := strconv.Itoa(webPort(h))
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	hc := &container.HealthConfig{Interval: h.Interval, Timeout: timeout, Retries: h.Retries}
	switch {
	case h.HTTP != "":
		secs := strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64)
		hc.Test = []string{"CMD", "curl", "-fsS", "-o", "/dev/null", "--max-time", secs, "http://127.0.0.1:" + port + h.HTTP}
	case h.TCP:
		hc.Test = []string{"CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + port}
	case len(h.Command) > 0:
		hc.Test = append([]string{"CMD"}, h.Command...)
	default:
		return nil
	}
	if hc.Retries <= 0 {
		hc.Retries = 3
	}
	return hc
}

// monitor is how long the engine watches an updated task once it runs
// before it counts the update as good. With a health check a task only
// runs once it is healthy (one that never gets healthy fails before), so
// this only has to catch a process that dies right after.
func monitor(h *platform.HealthCheck) time.Duration {
	m := 5 * time.Second
	if hc := healthcheck(h); hc != nil && hc.Interval > 0 {
		m = max(m, 2*hc.Interval)
	}
	return m
}

// updateConfig maps the rollout block onto the engine's update policy.
func updateConfig(r platform.Rollout, h *platform.HealthCheck, replicas int) *swarm.UpdateConfig {
	u := &swarm.UpdateConfig{Parallelism: uint64(firstStage(r, replicas)), Delay: r.Pause, Monitor: monitor(h),
		FailureAction: swarm.UpdateFailureActionRollback, Order: swarm.UpdateOrderStopFirst}
	if r.OnFailure == platform.OnFailureHalt {
		u.FailureAction = swarm.UpdateFailureActionPause
	}
	if r.Restart == platform.RestartOverlap {
		u.Order = swarm.UpdateOrderStartFirst
	}
	if mf := strings.TrimSpace(r.MaxFailures); mf != "" && replicas > 0 {
		if pct, ok := strings.CutSuffix(mf, "%"); ok {
			if v, err := strconv.ParseFloat(pct, 64); err == nil {
				u.MaxFailureRatio = float32(v / 100)
			}
		} else if v, err := strconv.Atoi(mf); err == nil {
			u.MaxFailureRatio = float32(v) / float32(replicas)
		}
	}
	return u
}

// firstStage is how many tasks the engine replaces at once: max_parallel,
// else the first stage's size (stages are cumulative; the engine has one
// batch size, so later stages go at the first one's pace).
func firstStage(r platform.Rollout, replicas int) int {
	if r.MaxParallel > 0 {
		return r.MaxParallel
	}
	n := replicas
	if len(r.Stages) > 0 {
		s := strings.TrimSpace(r.Stages[0])
		if pct, ok := strings.CutSuffix(s, "%"); ok {
			if v, err := strconv.ParseFloat(pct, 64); err == nil {
				n = int(math.Ceil(v * float64(replicas) / 100))
			}
		} else if v, err := strconv.Atoi(s); err == nil {
			n = v
		}
	}
	return max(1, min(n, max(replicas, 1)))
}

// apply creates or updates the service of proc; it returns its id.
func (d *deploy) apply(ctx context.Context, proc string, cur swarm.Service) (string, error) {
	req := d.req
	spec := d.serviceSpec(proc, cur)
	if cur.ID == "" {
		d.log(fmt.Sprintf("creating service %s: %d × %s on %s", spec.Name, d.p.replicas(proc), proc, req.Release.ID))
		resp, err := d.c.API().ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec})
		if err != nil {
			return "", fmt.Errorf("create service %s: %w", spec.Name, err)
		}
		return resp.ID, nil
	}
	d.log(fmt.Sprintf("updating service %s to %s: %d at a time, order %s, on failure %s", spec.Name, req.Release.ID,
		spec.UpdateConfig.Parallelism, spec.UpdateConfig.Order, spec.UpdateConfig.FailureAction))
	if _, err := d.c.API().ServiceUpdate(ctx, cur.ID, client.ServiceUpdateOptions{Version: cur.Version, Spec: spec}); err != nil {
		return "", fmt.Errorf("update service %s: %w", spec.Name, err)
	}
	return cur.ID, nil
}

// serviceSpec is the release's spec of proc's service (cur: the service
// as it runs, zero for a new one), its history label extended by this
// deploy.
func (d *deploy) serviceSpec(proc string, cur swarm.Service) swarm.ServiceSpec {
	req := d.req
	replicas := d.p.replicas(proc)
	spec := d.spec(d.n.Service(proc), proc, req.Processes[proc])
	r := uint64(replicas)
	spec.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &r}}
	spec.UpdateConfig = updateConfig(req.Rollout, req.Health, replicas)
	rb := *spec.UpdateConfig
	rb.FailureAction = swarm.UpdateFailureActionPause
	spec.RollbackConfig = &rb
	if proc == "web" {
		spec.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP, Ports: []swarm.PortConfig{{
			Protocol: network.TCP, TargetPort: uint32(webPort(req.Health)), PublishedPort: uint32(d.p.cfg.Port), PublishMode: swarm.PortConfigPublishMode(d.p.cfg.PublishMode),
		}}}
		if cur.ID != "" && d.p.cfg.Port == 0 && d.p.cfg.PublishMode == "ingress" {
			// Keep the port the engine picked on the first deploy.
			for _, pc := range cur.Endpoint.Ports {
				spec.EndpointSpec.Ports[0].PublishedPort = pc.PublishedPort
			}
		}
	}
	hist := appendHistory(cur.Spec.Labels[LabelHistory], platform.Deployment{Event: req.Event, Release: req.Release.ID, Previous: req.Previous,
		Time: d.at, Pusher: req.Release.Pusher, GitSHA: req.Release.GitSHA, ManifestHash: req.Release.ManifestHash, Outcome: "ok"})
	spec.Labels[LabelHistory] = hist
	return spec
}

func appendHistory(label string, d platform.Deployment) string {
	var h []platform.Deployment
	_ = json.Unmarshal([]byte(label), &h)
	h = append(h, d)
	if len(h) > historyKeep {
		h = h[len(h)-historyKeep:]
	}
	b, _ := json.Marshal(h)
	return string(b)
}

// rolloutTimeout bounds the wait for one service's update.
func (d *deploy) rolloutTimeout(replicas int) time.Duration {
	per := monitor(d.req.Health) + d.req.Rollout.Pause + 30*time.Second
	if hc := healthcheck(d.req.Health); hc != nil {
		iv := hc.Interval
		if iv <= 0 {
			iv = 30 * time.Second
		}
		per += time.Duration(hc.Retries+1) * (iv + hc.Timeout)
	}
	batches := replicas/max(1, firstStage(d.req.Rollout, replicas)) + 1
	return time.Duration(batches+1)*per + 2*time.Minute
}

// wait follows one service until its update completes (every replica of
// the release runs) or the engine stops it.
func (d *deploy) wait(ctx context.Context, id, proc string) error {
	name := d.n.Service(proc)
	replicas := d.p.replicas(proc)
	ctx, cancel := context.WithTimeout(ctx, d.rolloutTimeout(replicas))
	defer cancel()
	last := ""
	for {
		insp, err := d.c.API().ServiceInspect(ctx, id, client.ServiceInspectOptions{})
		if err != nil {
			return d.waitErr(ctx, name, err)
		}
		s := insp.Service
		if s.Spec.Mode.Replicated != nil && s.Spec.Mode.Replicated.Replicas != nil {
			replicas = int(*s.Spec.Mode.Replicated.Replicas)
		}
		state := ""
		if s.UpdateStatus != nil {
			state = string(s.UpdateStatus.State)
			if state != last {
				d.log(fmt.Sprintf("%s: %s %s", name, state, s.UpdateStatus.Message))
				last = state
			}
			switch s.UpdateStatus.State {
			case swarm.UpdateStateRollbackCompleted, swarm.UpdateStateRollbackStarted:
				if s.UpdateStatus.State == swarm.UpdateStateRollbackCompleted || d.req.Rollout.OnFailure == platform.OnFailureRollback {
					if err := d.waitRollback(ctx, id); err != nil {
						return err
					}
					return &platform.RolloutError{Service: name, State: "rolled back", Reason: s.UpdateStatus.Message}
				}
			case swarm.UpdateStatePaused, swarm.UpdateStateRollbackPaused:
				return &platform.RolloutError{Service: name, State: "paused", Reason: s.UpdateStatus.Message}
			}
		}
		if state == "" || state == string(swarm.UpdateStateCompleted) {
			running, err := d.runningOn(ctx, id, d.req.Release.ID)
			if err != nil {
				return d.waitErr(ctx, name, err)
			}
			if running >= replicas {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return d.waitErr(ctx, name, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (d *deploy) waitErr(ctx context.Context, name string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		msg := d.taskErrors(context.WithoutCancel(ctx), name)
		return fmt.Errorf("service %s did not converge in time: %s", name, msg)
	}
	return fmt.Errorf("service %s: %w", name, err)
}

// waitRollback waits for the engine's rollback of a service to finish.
func (d *deploy) waitRollback(ctx context.Context, id string) error {
	for {
		insp, err := d.c.API().ServiceInspect(ctx, id, client.ServiceInspectOptions{})
		if err != nil {
			return err
		}
		if u := insp.Service.UpdateStatus; u != nil && u.State != swarm.UpdateStateRollbackStarted {
			return d.recordFailure(ctx, insp.Service)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s: the engine's rollback did not finish in time", insp.Service.Spec.Name)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// recordFailure adds the failed deploy to the history of the service the
// engine rolled back (its labels came back with the previous spec). Only
// the labels change, so no task restarts.
func (d *deploy) recordFailure(ctx context.Context, s swarm.Service) error {
	spec := s.Spec
	spec.Labels = cloneLabels(spec.Labels)
	spec.Labels[LabelHistory] = appendHistory(spec.Labels[LabelHistory], platform.Deployment{Event: d.req.Event, Release: d.req.Release.ID,
		Previous: d.req.Previous, Time: d.at.Add(time.Second), Pusher: d.req.Release.Pusher, GitSHA: d.req.Release.GitSHA,
		ManifestHash: d.req.Release.ManifestHash, Outcome: "rolled back"})
	_, err := d.c.API().ServiceUpdate(ctx, s.ID, client.ServiceUpdateOptions{Version: s.Version, Spec: spec})
	return err
}

func cloneLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// undo rolls back the services this deploy already updated, after
// another failed, so every process type runs the same release again.
func (d *deploy) undo(ctx context.Context, updated []string, before map[string]swarm.Service, cause error) {
	ctx = context.WithoutCancel(ctx)
	for _, id := range updated {
		insp, err := d.c.API().ServiceInspect(ctx, id, client.ServiceInspectOptions{})
		if err != nil {
			continue
		}
		s := insp.Service
		if s.Spec.Labels[LabelRelease] != d.req.Release.ID {
			continue // the engine rolled this one back itself
		}
		proc := s.Spec.Labels[LabelProcess]
		if _, existed := before[proc]; !existed {
			d.log(fmt.Sprintf("removing service %s: it is new in %s, which failed", s.Spec.Name, d.req.Release.ID))
			_, _ = d.c.API().ServiceRemove(ctx, id, client.ServiceRemoveOptions{})
			continue
		}
		if d.staged[id] {
			d.log(fmt.Sprintf("rolling back service %s: %v", s.Spec.Name, cause))
			if err := d.restore(ctx, before[proc]); err != nil {
				d.log(fmt.Sprintf("roll back service %s: %v", s.Spec.Name, err))
			}
			continue
		}
		d.log(fmt.Sprintf("rolling back service %s: %v", s.Spec.Name, cause))
		if _, err := d.c.API().ServiceUpdate(ctx, id, client.ServiceUpdateOptions{Version: s.Version, Spec: s.Spec, Rollback: "previous"}); err != nil {
			d.log(fmt.Sprintf("roll back service %s: %v", s.Spec.Name, err))
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, d.rolloutTimeout(d.p.replicas(proc)))
		for wctx.Err() == nil {
			i, err := d.c.API().ServiceInspect(wctx, id, client.ServiceInspectOptions{})
			if err == nil && i.Service.UpdateStatus != nil && i.Service.UpdateStatus.State == swarm.UpdateStateRollbackCompleted {
				_ = d.recordFailure(wctx, i.Service)
				break
			}
			select {
			case <-wctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
		cancel()
	}
}

// runningOn counts the service's running tasks of release.
func (d *deploy) runningOn(ctx context.Context, id, release string) (int, error) {
	ts, err := d.c.API().TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", id).Add("desired-state", "running")})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range ts.Items {
		if t.Status.State == swarm.TaskStateRunning && t.Spec.ContainerSpec != nil && t.Spec.ContainerSpec.Labels[LabelRelease] == release {
			n++
		}
	}
	return n, nil
}

// taskErrors summarises why a service's tasks did not run.
func (d *deploy) taskErrors(ctx context.Context, service string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ts, err := d.c.API().TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", service)})
	if err != nil {
		return err.Error()
	}
	seen := map[string]bool{}
	var msgs []string
	for _, t := range ts.Items {
		m := string(t.Status.State)
		if t.Status.Err != "" {
			m += ": " + t.Status.Err
		}
		if !seen[m] {
			seen[m] = true
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 {
		return "no task was scheduled (is the image on every node? configure a registry)"
	}
	sort.Strings(msgs)
	return "tasks " + strings.Join(msgs, "; ")
}

// pruneSecrets removes the environment's secret objects that no service
// (nor its previous spec, which the engine may roll back to) refers to.
func (d *deploy) pruneSecrets(ctx context.Context) {
	list, err := d.c.API().ServiceList(ctx, client.ServiceListOptions{Filters: d.n.filters()})
	if err != nil {
		return
	}
	used := map[string]bool{}
	for _, s := range list.Items {
		for _, spec := range []*swarm.ServiceSpec{&s.Spec, s.PreviousSpec} {
			if spec == nil || spec.TaskTemplate.ContainerSpec == nil {
				continue
			}
			for _, r := range spec.TaskTemplate.ContainerSpec.Secrets {
				used[r.SecretID] = true
			}
		}
	}
	secrets, err := d.c.API().SecretList(ctx, client.SecretListOptions{Filters: d.n.filters()})
	if err != nil {
		return
	}
	for _, s := range secrets.Items {
		if !used[s.ID] {
			_, _ = d.c.API().SecretRemove(ctx, s.ID, client.SecretRemoveOptions{})
		}
	}
}

// response is what the services look like now.
func (d *deploy) response(ctx context.Context) *platform.DeployResponse {
	insp, err := d.p.inspect(context.WithoutCancel(ctx), d.c, d.n)
	if err != nil {
		return nil
	}
	resp := &platform.DeployResponse{Services: insp.Services, URLs: map[string]string{}}
	for _, s := range insp.Services {
		if s.URL != "" {
			resp.URLs[s.Process] = s.URL
		}
	}
	return resp
}
