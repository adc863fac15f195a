package swarm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/docker"
)

func fileMode(m uint32) os.FileMode { return os.FileMode(m) }

// runJob runs a release task once, as a replicated job of one task, and
// removes the job once it ended.
func (d *deploy) runJob(ctx context.Context, t platform.Task) error {
	name := d.n.prefix() + "-task-" + sanitize(t.Name)
	api := d.c.API()
	// A job left behind by an interrupted push.
	if _, err := api.ServiceRemove(ctx, name, client.ServiceRemoveOptions{}); err == nil {
		d.waitGone(ctx, name)
	}
	spec := d.spec(name, "", "")
	delete(spec.Labels, LabelProcess)
	spec.Labels["plat.task"] = t.Name
	spec.TaskTemplate.ContainerSpec.Command = append([]string{"/bin/sh", "-c", execScript, "plat"}, t.Run...)
	spec.TaskTemplate.ContainerSpec.Healthcheck = nil
	spec.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone}
	one := uint64(1)
	spec.Mode = swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: &one, TotalCompletions: &one}}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = defaultTaskTimeout
	}
	d.log(fmt.Sprintf("task %s: running once as job %s (%s)", t.Name, name, d.req.Release.ID))
	resp, err := api.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		return fmt.Errorf("release task %s: create job %s: %w", t.Name, name, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = api.ServiceRemove(rctx, resp.ID, client.ServiceRemoveOptions{})
		// The job's exited container outlives its service.
		if ctrs, err := api.ContainerList(rctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", "com.docker.swarm.service.id="+resp.ID)}); err == nil {
			for _, x := range ctrs.Items {
				_, _ = api.ContainerRemove(rctx, x.ID, client.ContainerRemoveOptions{Force: true})
			}
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ts, err := api.TaskList(wctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", resp.ID)})
		if err == nil {
			for _, task := range ts.Items {
				switch task.Status.State {
				case swarm.TaskStateComplete:
					d.jobLogs(ctx, resp.ID)
					return nil
				case swarm.TaskStateFailed, swarm.TaskStateRejected:
					d.jobLogs(ctx, resp.ID)
					return fmt.Errorf("release task %s failed on the engine (%s); no service was updated: %s", t.Name, task.Status.State, task.Status.Err)
				}
			}
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("release task %s did not finish within %s; no service was updated", t.Name, timeout)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// jobLogs passes a finished job's output to the push's progress.
func (d *deploy) jobLogs(ctx context.Context, id string) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	r, err := d.c.API().ServiceLogs(lctx, id, client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return
	}
	defer r.Close()
	var out bytes.Buffer
	_, _ = stdcopy.StdCopy(&out, &out, r)
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if l != "" {
			d.log(l)
		}
	}
}

func (d *deploy) waitGone(ctx context.Context, name string) {
	for i := 0; i < 60; i++ {
		if _, err := d.c.API().ServiceInspect(ctx, name, client.ServiceInspectOptions{}); cerrdefs.IsNotFound(err) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Inspect reports the services, their tasks and the deploy history.
func (p *Provider) Inspect(ctx context.Context, req *platform.InspectRequest) (*platform.InspectResponse, error) {
	c, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	n := namesOf(req.App, req.Env)
	if _, err := c.API().NetworkInspect(ctx, n.Network(), client.NetworkInspectOptions{}); cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("network %s not found: run `plat up %s` first", n.Network(), req.Env.Name)
	}
	return p.inspect(ctx, c, n)
}

func (p *Provider) inspect(ctx context.Context, c *docker.Client, n names) (*platform.InspectResponse, error) {
	api := c.API()
	list, err := api.ServiceList(ctx, client.ServiceListOptions{Filters: n.filters(), Status: true})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	nodes := map[string]string{}
	if ns, err := api.NodeList(ctx, client.NodeListOptions{}); err == nil {
		for _, nd := range ns.Items {
			nodes[nd.ID] = nd.Description.Hostname
		}
	}
	resp := &platform.InspectResponse{}
	var history []platform.Deployment
	seen := map[string]bool{}
	for _, s := range list.Items {
		proc := s.Spec.Labels[LabelProcess]
		if proc == "" || s.Spec.Mode.Replicated == nil {
			continue
		}
		st := platform.ServiceStatus{Name: s.Spec.Name, Process: proc, Release: s.Spec.Labels[LabelRelease]}
		if r := s.Spec.Mode.Replicated.Replicas; r != nil {
			st.Replicas = int(*r)
		}
		if s.ServiceStatus != nil {
			st.Running = int(s.ServiceStatus.RunningTasks)
		}
		if s.UpdateStatus != nil {
			st.Update = string(s.UpdateStatus.State)
		}
		for _, pc := range s.Endpoint.Ports {
			if pc.PublishedPort != 0 {
				st.URL = fmt.Sprintf("http://127.0.0.1:%d", pc.PublishedPort)
			}
		}
		ts, err := api.TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", s.ID).Add("desired-state", "running")})
		if err == nil {
			for _, t := range ts.Items {
				ts := platform.TaskStatus{ID: t.ID, Slot: t.Slot, Node: nodes[t.NodeID], State: string(t.Status.State), Desired: string(t.DesiredState), Error: t.Status.Err}
				for _, pc := range t.Status.PortStatus.Ports {
					if pc.PublishedPort != 0 {
						ts.URL = fmt.Sprintf("http://127.0.0.1:%d", pc.PublishedPort)
					}
				}
				if ts.URL != "" && st.URL == "" {
					st.URL = ts.URL
				}
				if t.Spec.ContainerSpec != nil {
					ts.Release = t.Spec.ContainerSpec.Labels[LabelRelease]
				}
				st.Tasks = append(st.Tasks, ts)
			}
			sort.Slice(st.Tasks, func(i, j int) bool { return st.Tasks[i].Slot < st.Tasks[j].Slot })
		}
		resp.Services = append(resp.Services, st)
		var h []platform.Deployment
		if json.Unmarshal([]byte(s.Spec.Labels[LabelHistory]), &h) == nil {
			for _, x := range h {
				k := x.Event + "|" + x.Release + "|" + x.Time.String() + "|" + x.Outcome
				if !seen[k] {
					seen[k] = true
					history = append(history, x)
				}
			}
		}
	}
	sort.Slice(resp.Services, func(i, j int) bool { return resp.Services[i].Name < resp.Services[j].Name })
	sort.SliceStable(history, func(i, j int) bool { return history[i].Time.Before(history[j].Time) })
	resp.History = history
	return resp, nil
}

// Logs writes the services' logs, each line prefixed with its task.
func (p *Provider) Logs(ctx context.Context, req *platform.LogsRequest) error {
	c, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	n := namesOf(req.App, req.Env)
	insp, err := p.inspect(ctx, c, n)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, x := range req.Processes {
		want[x] = true
	}
	var mu sync.Mutex
	out := req.Output
	var wg sync.WaitGroup
	errs := make(chan error, len(insp.Services))
	matched := 0
	for _, s := range insp.Services {
		if len(want) > 0 && !want[s.Process] {
			continue
		}
		matched++
		slots := map[string]int{}
		for _, t := range s.Tasks {
			slots[t.ID] = t.Slot
		}
		tail := "all"
		if req.Lines > 0 {
			tail = fmt.Sprint(req.Lines)
		}
		r, err := c.API().ServiceLogs(ctx, s.Name, client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true, Follow: req.Follow, Tail: tail, Details: true})
		if err != nil {
			return fmt.Errorf("logs of %s: %w", s.Name, err)
		}
		wg.Add(1)
		go func(s platform.ServiceStatus) {
			defer wg.Done()
			defer r.Close()
			w := &taskLines{name: s.Process, slots: slots, out: func(line string) {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintln(out, line)
			}}
			if _, err := stdcopy.StdCopy(w, w, r); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("logs of %s: %w", s.Name, err)
			}
			w.flush()
		}(s)
	}
	if len(want) > 0 && matched == 0 {
		return fmt.Errorf("no service runs a process of type %s", strings.Join(req.Processes, ", "))
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// taskLines prefixes each log line with "[type.slot]" (the line's
// details name its task).
type taskLines struct {
	name  string
	slots map[string]int
	out   func(string)
	buf   []byte
	mu    sync.Mutex
}

func (w *taskLines) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

func (w *taskLines) flush() {
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
}

func (w *taskLines) line(l string) {
	who := w.name
	if details, msg, ok := strings.Cut(l, " "); ok && strings.Contains(details, "com.docker.swarm.task.id=") {
		l = msg
		for _, kv := range strings.Split(details, ",") {
			if id, ok := strings.CutPrefix(kv, "com.docker.swarm.task.id="); ok {
				if slot, ok := w.slots[id]; ok {
					who = fmt.Sprintf("%s.%d", w.name, slot)
				}
			}
		}
	}
	w.out("[" + who + "] " + strings.TrimRight(l, "\r"))
}

// Exec runs a command in a running task of the process type (or the task
// req.Task selects: see pickTask). The Engine API execs only into the
// containers of the daemon it talks to, so a task on another node is
// reached through that node's daemon as node_hosts gives it.
func (p *Provider) Exec(ctx context.Context, req *platform.ScheduledExecRequest) error {
	c, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	n := namesOf(req.App, req.Env)
	insp, err := p.inspect(ctx, c, n)
	if err != nil {
		return err
	}
	svc, task, err := pickTask(insp.Services, req.Process, req.Task, req.Env.Name)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s.%d", svc.Process, task.Slot)
	ti, err := c.API().TaskInspect(ctx, task.ID, client.TaskInspectOptions{})
	if err != nil {
		return fmt.Errorf("task %s: %w", name, err)
	}
	if ti.Task.Status.ContainerStatus == nil || ti.Task.Status.ContainerStatus.ContainerID == "" {
		return fmt.Errorf("task %s (%s) has no container yet", name, task.State)
	}
	cid := ti.Task.Status.ContainerStatus.ContainerID
	daemon, err := p.nodeDaemon(ctx, c, ti.Task.NodeID, task.Node, name)
	if err != nil {
		return err
	}
	if daemon != c {
		defer daemon.Close()
	}
	if _, err := daemon.API().ContainerInspect(ctx, cid, client.ContainerInspectOptions{}); err != nil {
		return fmt.Errorf("task %s: container %.12s not found on the Docker daemon at %s (node %s): %w", name, cid, daemon.Host(), task.Node, err)
	}
	tr := docker.ContainerTransport(daemon, cid, fmt.Sprintf("%s.%d", svc.Name, task.Slot), name)
	defer tr.Close()
	cmd := *req.Command
	cmd.Args = append([]string{"/bin/sh", "-c", execScript, "plat"}, cmd.Args...)
	if cmd.Dir == "" {
		cmd.Dir = AppDir
	}
	return tr.Run(ctx, &cmd)
}

// nodeDaemon is the Docker daemon that runs node's containers: the
// node_hosts address given for it, else the one plat talks to when that
// daemon is the node; otherwise an error saying how to reach the node.
func (p *Provider) nodeDaemon(ctx context.Context, c *docker.Client, nodeID, node, task string) (*docker.Client, error) {
	if addr, ok := p.cfg.NodeHosts[node]; ok {
		d, err := docker.Connect(ctx, addr)
		if err != nil {
			return nil, fmt.Errorf("task %s runs on node %s: its Docker daemon (node_hosts, %s): %w", task, node, addr, err)
		}
		return d, nil
	}
	info, err := c.API().Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker info: %w", err)
	}
	if info.Info.Swarm.NodeID == nodeID {
		return c, nil
	}
	addr := ""
	if nd, err := c.API().NodeInspect(ctx, nodeID, client.NodeInspectOptions{}); err == nil {
		addr = nd.Node.Status.Addr
	}
	return nil, &RemoteNodeError{Task: task, Node: node, Addr: addr, Manager: c.Host()}
}

// RemoteNodeError is an exec into a task on a node whose Docker daemon
// plat has no address for.
type RemoteNodeError struct {
	Task, Node, Addr string
	// Manager is the daemon plat talks to.
	Manager string
}

func (e *RemoteNodeError) Error() string {
	at := ""
	if e.Addr != "" {
		at = " (" + e.Addr + ")"
	}
	return fmt.Sprintf("task %s runs on node %s%s, and the Docker daemon at %s reaches only its own containers: "+
		"give that node's daemon in the provider block, node_hosts = { %q = \"tcp://%s:2376\" } (TLS from DOCKER_CERT_PATH and DOCKER_TLS_VERIFY, as for docker_host), "+
		"or pick a task on a node plat reaches with --host (plat status shows each task's node)", e.Task, e.Node, at, e.Manager, e.Node, hostOr(e.Addr, e.Node))
}

func hostOr(addr, node string) string {
	if addr != "" {
		return addr
	}
	return node
}

// pickTask chooses the running task to exec into. sel is "" (the first
// running task of process: web, else the first type), a task as plat
// status names it ("web.2", or the service's name and slot,
// "plat-app-env-web.2"), or a node's name (a running task of process on
// that node).
func pickTask(services []platform.ServiceStatus, process, sel, env string) (*platform.ServiceStatus, *platform.TaskStatus, error) {
	byType := func(proc string) *platform.ServiceStatus {
		var svc *platform.ServiceStatus
		for i, s := range services {
			if s.Process == proc || (proc == "" && (s.Process == "web" || svc == nil)) {
				svc = &services[i]
				if proc == "" && s.Process == "web" {
					break
				}
			}
		}
		return svc
	}
	running := func(s *platform.ServiceStatus) []*platform.TaskStatus {
		var out []*platform.TaskStatus
		for i := range s.Tasks {
			if s.Tasks[i].State == "running" {
				out = append(out, &s.Tasks[i])
			}
		}
		return out
	}
	if len(services) == 0 {
		return nil, nil, fmt.Errorf("no service runs on %s: push first", env)
	}
	// A task name: TYPE.SLOT or SERVICE.SLOT.
	if i := strings.LastIndexByte(sel, '.'); i > 0 {
		if slot, err := strconv.Atoi(sel[i+1:]); err == nil {
			who := sel[:i]
			for si := range services {
				s := &services[si]
				if s.Process != who && s.Name != who {
					continue
				}
				if process != "" && s.Process != process {
					return nil, nil, fmt.Errorf("task %s is of process type %s, not %s (--role)", sel, s.Process, process)
				}
				for _, t := range running(s) {
					if t.Slot == slot {
						return s, t, nil
					}
				}
				return nil, nil, fmt.Errorf("no running task %s on %s; running: %s", sel, env, taskList(s, running(s)))
			}
		}
	}
	svc := byType(process)
	if svc == nil {
		return nil, nil, fmt.Errorf("no service runs a process of type %q on %s", process, env)
	}
	tasks := running(svc)
	if sel == "" {
		if len(tasks) == 0 {
			return nil, nil, fmt.Errorf("service %s has no running task to exec into", svc.Name)
		}
		return svc, tasks[0], nil
	}
	for _, t := range tasks {
		if t.Node == sel {
			return svc, t, nil
		}
	}
	return nil, nil, fmt.Errorf("--host %s is neither a task (TYPE.SLOT, as plat status shows) nor a node with a running %s task on %s; running: %s", sel, svc.Process, env, taskList(svc, tasks))
}

func taskList(s *platform.ServiceStatus, ts []*platform.TaskStatus) string {
	if len(ts) == 0 {
		return "none"
	}
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s.%d (node %s)", s.Process, t.Slot, t.Node))
	}
	return strings.Join(out, ", ")
}

// Up checks the daemon is a swarm manager, creates the environment's
// overlay network and scales services that plat down stopped back up.
func (p *Provider) Up(ctx context.Context, req *platform.UpRequest) (*platform.UpResponse, error) {
	c, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	n := namesOf(req.App, req.Env)
	progress := req.Progress
	if progress == nil {
		progress = func(string, string) {}
	}
	api := c.API()
	if _, err := api.NetworkInspect(ctx, n.Network(), client.NetworkInspectOptions{}); cerrdefs.IsNotFound(err) {
		if _, err := api.NetworkCreate(ctx, n.Network(), client.NetworkCreateOptions{Driver: "overlay", Attachable: true, Labels: n.labels()}); err != nil {
			return nil, fmt.Errorf("create network %s: %w", n.Network(), err)
		}
		progress(req.Env.Name, "created overlay network "+n.Network())
	} else if err != nil {
		return nil, fmt.Errorf("inspect network %s: %w", n.Network(), err)
	}
	list, err := api.ServiceList(ctx, client.ServiceListOptions{Filters: n.filters()})
	if err != nil {
		return nil, err
	}
	for _, s := range list.Items {
		proc := s.Spec.Labels[LabelProcess]
		if proc == "" || s.Spec.Mode.Replicated == nil || s.Spec.Mode.Replicated.Replicas == nil || *s.Spec.Mode.Replicated.Replicas != 0 {
			continue
		}
		r := uint64(p.replicas(proc))
		spec := s.Spec
		spec.Mode.Replicated.Replicas = &r
		if _, err := api.ServiceUpdate(ctx, s.ID, client.ServiceUpdateOptions{Version: s.Version, Spec: spec}); err != nil {
			return nil, fmt.Errorf("scale %s up: %w", s.Spec.Name, err)
		}
		progress(req.Env.Name, fmt.Sprintf("scaled %s to %d", s.Spec.Name, r))
	}
	return &platform.UpResponse{Machines: p.machines(ctx, c, n)}, nil
}

// Down scales the services to zero; with Destroy it removes the services,
// secrets, network, volumes and release images plat made for the
// environment (the swarm itself is not plat's: it stays).
func (p *Provider) Down(ctx context.Context, req *platform.DownRequest) (*platform.DownResponse, error) {
	c, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	n := namesOf(req.App, req.Env)
	progress := req.Progress
	if progress == nil {
		progress = func(string, string) {}
	}
	api := c.API()
	list, err := api.ServiceList(ctx, client.ServiceListOptions{Filters: n.filters()})
	if err != nil {
		return nil, err
	}
	for _, s := range list.Items {
		if req.Destroy {
			if _, err := api.ServiceRemove(ctx, s.ID, client.ServiceRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
				return nil, fmt.Errorf("remove service %s: %w", s.Spec.Name, err)
			}
			progress(req.Env.Name, "removed service "+s.Spec.Name)
			continue
		}
		if s.Spec.Mode.Replicated == nil {
			continue
		}
		zero := uint64(0)
		spec := s.Spec
		spec.Mode.Replicated.Replicas = &zero
		if _, err := api.ServiceUpdate(ctx, s.ID, client.ServiceUpdateOptions{Version: s.Version, Spec: spec}); err != nil {
			return nil, fmt.Errorf("scale %s to 0: %w", s.Spec.Name, err)
		}
		progress(req.Env.Name, "scaled "+s.Spec.Name+" to 0")
	}
	if !req.Destroy {
		return &platform.DownResponse{Machines: p.machines(ctx, c, n)}, nil
	}
	if err := waitNoTasks(ctx, c, n); err != nil {
		return nil, err
	}
	if secrets, err := api.SecretList(ctx, client.SecretListOptions{Filters: n.filters()}); err == nil {
		for _, s := range secrets.Items {
			if _, err := api.SecretRemove(ctx, s.ID, client.SecretRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
				return nil, fmt.Errorf("remove secret %s: %w", s.Spec.Name, err)
			}
		}
	}
	if _, err := api.NetworkRemove(ctx, n.Network(), client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("remove network %s: %w", n.Network(), err)
	}
	if vols, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: n.filters()}); err == nil {
		for _, v := range vols.Items {
			if _, err := api.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				return nil, fmt.Errorf("remove volume %s: %w", v.Name, err)
			}
		}
	}
	if imgs, err := api.ImageList(ctx, client.ImageListOptions{Filters: n.filters()}); err == nil {
		for _, im := range imgs.Items {
			for _, tag := range im.RepoTags {
				_, _ = api.ImageRemove(ctx, tag, client.ImageRemoveOptions{})
			}
		}
	}
	progress(req.Env.Name, "removed secrets, network "+n.Network()+", volumes and release images")
	return &platform.DownResponse{Machines: p.machines(ctx, c, n)}, nil
}

// waitNoTasks waits until the removed services' containers are gone (the
// network and volumes cannot go before).
func waitNoTasks(ctx context.Context, c *docker.Client, n names) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	f := client.Filters{}.Add("label", "com.docker.swarm.service.name")
	for {
		ctrs, err := c.API().ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f.Add("label", LabelApp+"="+n.app).Add("label", LabelEnv+"="+n.env)})
		if err == nil && len(ctrs.Items) == 0 {
			return nil
		}
		// Finished tasks (release jobs) leave exited containers behind.
		for _, x := range ctrs.Items {
			if err == nil && x.State != "running" {
				_, _ = c.API().ContainerRemove(ctx, x.ID, client.ContainerRemoveOptions{Force: true})
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the removed services' containers are still there after 2 minutes")
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// machines reports each service as a machine of `plat up`/`plat down`.
func (p *Provider) machines(ctx context.Context, c *docker.Client, n names) []platform.MachineStatus {
	insp, err := p.inspect(ctx, c, n)
	if err != nil {
		return nil
	}
	var out []platform.MachineStatus
	for _, s := range insp.Services {
		state := "running"
		if s.Replicas == 0 {
			state = "stopped"
		}
		out = append(out, platform.MachineStatus{Host: s.Name, State: state, Detail: fmt.Sprintf("%d/%d tasks, %s", s.Running, s.Replicas, s.Release)})
	}
	return out
}

var _ io.Writer = (*taskLines)(nil)
