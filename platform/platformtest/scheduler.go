package platformtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
)

// SchedulerHarness is what the scheduler suite needs: a factory whose
// providers are platform.Schedulers (and Provisioners), the provider
// block's values and a throwaway environment (it is brought up, deployed
// to and destroyed).
type SchedulerHarness struct {
	Factory platform.ProviderFactory
	Config  platform.ProviderConfig
	// Env needs no hosts; its Provider is set from Config.
	Env *platform.Environment
	// App defaults to an app named "conformance"; give a unique name when
	// engines are shared.
	App *platform.App
}

// TestScheduler runs the scheduler suite (SchedulerChecks) as subtests.
func TestScheduler(t *testing.T, h SchedulerHarness) {
	t.Helper()
	RunTests(t, SchedulerChecks(h))
}

type schedRun struct {
	h        SchedulerHarness
	app      *platform.App
	s        platform.Scheduler
	stateDir string
	files    map[string][]byte // sha256 → content
	trees    map[string][]platform.TreeEntry
	arts     map[string]string
}

// SchedulerChecks is the scheduler conformance suite: the schema says
// Scheduled, New gives a Scheduler and Provisioner, Up is idempotent,
// Publish makes an artifact (the same one twice for one release), Deploy
// runs a release task once and every process type on the release, Exec
// sees the release tree, the secret environment and the private file
// (0600), Logs carry the processes' output, a second release replaces the
// first, Inspect's history has both, a rollback deploys the first release
// again, and Down with Destroy leaves no service. Checks run in order; a
// check whose prerequisite failed is skipped.
func SchedulerChecks(h SchedulerHarness) []Check {
	r := &schedRun{h: h, app: h.App, files: map[string][]byte{}, trees: map[string][]platform.TreeEntry{}, arts: map[string]string{}}
	if r.app == nil {
		r.app = &platform.App{Name: "conformance"}
	}
	h.Env.Provider = h.Config
	return []Check{
		{"scheduler/schema", r.checkSchema},
		{"scheduler/new", r.checkNew},
		{"scheduler/up", r.checkUp},
		{"scheduler/publish", r.checkPublish},
		{"scheduler/deploy", r.checkDeploy},
		{"scheduler/exec", r.checkExec},
		{"scheduler/logs", r.checkLogs},
		{"scheduler/second-release", r.checkSecond},
		{"scheduler/rollback", r.checkRollback},
		{"scheduler/down", r.checkDown},
	}
}

func (r *schedRun) checkSchema(context.Context) error {
	if !r.h.Factory.Schema().Scheduled {
		return errors.New("the schema of a Scheduler's factory must set Scheduled (its environments have no hosts)")
	}
	return nil
}

func (r *schedRun) checkNew(context.Context) error {
	p, err := r.h.Factory.New(r.h.Config)
	if err != nil {
		return fmt.Errorf("New: %w", err)
	}
	s, ok := p.(platform.Scheduler)
	if !ok {
		return fmt.Errorf("%T is not a platform.Scheduler", p)
	}
	if _, ok := p.(platform.Provisioner); !ok {
		return fmt.Errorf("%T is not a platform.Provisioner (up and down)", p)
	}
	r.s = s
	dir, err := os.MkdirTemp("", "plat-scheduler-")
	if err != nil {
		return err
	}
	r.stateDir = dir
	return nil
}

func (r *schedRun) need() error {
	if r.s == nil {
		return Skipf("no scheduler (an earlier check failed)")
	}
	return nil
}

func (r *schedRun) checkUp(ctx context.Context) error {
	if err := r.need(); err != nil {
		return err
	}
	pv := r.s.(platform.Provisioner)
	for i := 0; i < 2; i++ {
		if _, err := pv.Up(ctx, &platform.UpRequest{App: r.app, Env: r.h.Env, StateDir: r.stateDir}); err != nil {
			return fmt.Errorf("Up (call %d): %w", i+1, err)
		}
	}
	insp, err := r.s.Inspect(ctx, &platform.InspectRequest{App: r.app, Env: r.h.Env, StateDir: r.stateDir})
	if err != nil {
		return fmt.Errorf("Inspect after Up: %w", err)
	}
	if len(insp.Services) != 0 {
		return fmt.Errorf("a fresh environment has services: %+v", insp.Services)
	}
	return nil
}

// tree makes a release tree of a file, a directory and a symlink.
func (r *schedRun) tree(id string) []platform.TreeEntry {
	add := func(path, content string, mode os.FileMode) platform.TreeEntry {
		sum := sha256.Sum256([]byte(content))
		h := hex.EncodeToString(sum[:])
		r.files[h] = []byte(content)
		return platform.TreeEntry{Path: path, Mode: mode, Size: int64(len(content)), SHA256: h}
	}
	t := []platform.TreeEntry{
		add("RELEASE", id+"\n", 0o644),
		{Path: "bin", Dir: true, Mode: 0o755},
		add("bin/hello", "#!/bin/sh\necho hello from "+id+"\n", 0o755),
		{Path: "current", Link: "RELEASE", Mode: 0o777},
		add("same", "unchanged between releases\n", 0o644),
	}
	r.trees[id] = t
	return t
}

func (r *schedRun) open(h string) (io.ReadCloser, error) {
	b, ok := r.files[h]
	if !ok {
		return nil, fmt.Errorf("no content %s", h)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (r *schedRun) publish(ctx context.Context, id, base string) (string, error) {
	req := &platform.PublishRequest{App: r.app, Env: r.h.Env, StateDir: r.stateDir, Release: r.ref(id), Tree: r.tree(id), Open: r.open, Base: base, BaseTree: r.trees[base]}
	resp, err := r.s.Publish(ctx, req)
	if err != nil {
		return "", fmt.Errorf("Publish %s: %w", id, err)
	}
	if resp.Artifact == "" {
		return "", fmt.Errorf("Publish %s returned no artifact", id)
	}
	r.arts[id] = resp.Artifact
	return resp.Artifact, nil
}

func (r *schedRun) ref(id string) platform.ReleaseRef {
	return platform.ReleaseRef{ID: id, GitSHA: strings.Repeat("a", 40), ManifestHash: strings.Repeat(id[1:], 64)[:64], Pusher: "conformance", Time: time.Now().UTC()}
}

func (r *schedRun) checkPublish(ctx context.Context) error {
	if err := r.need(); err != nil {
		return err
	}
	a, err := r.publish(ctx, "r1", "")
	if err != nil {
		return err
	}
	b, err := r.publish(ctx, "r1", "")
	if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("publishing r1 twice gave %s and %s", a, b)
	}
	return nil
}

const schedSecret = "s3cr3t value with 'quotes' and $dollar"

func (r *schedRun) deploy(ctx context.Context, id, event, prev string, tasks []platform.Task) (*platform.DeployResponse, error) {
	req := &platform.DeployRequest{App: r.app, Env: r.h.Env, StateDir: r.stateDir, Release: r.ref(id), Artifact: r.arts[id],
		Processes: map[string]string{
			"web":    `while true; do echo "web of $PLAT_RELEASE"; sleep 1; done`,
			"worker": `while true; do echo "worker of $PLAT_RELEASE"; sleep 1; done`,
		},
		Environ: map[string]string{"PLAT_RELEASE": id, "GREETING": "hi"}, Secrets: map[string]string{"API_TOKEN": schedSecret},
		Private: []platform.PrivateFile{{Path: "settings.json", Mode: 0o600, Content: []byte(`{"release":"` + id + `"}`)}},
		Tasks:   tasks, Rollout: platform.Rollout{Stages: []string{"100%"}, OnFailure: platform.OnFailureRollback}, Event: event, Previous: prev}
	resp, err := r.s.Deploy(ctx, req)
	if err != nil {
		return resp, fmt.Errorf("Deploy %s: %w", id, err)
	}
	return resp, r.runs(ctx, id)
}

// runs checks Inspect reports both process types on release id.
func (r *schedRun) runs(ctx context.Context, id string) error {
	insp, err := r.s.Inspect(ctx, &platform.InspectRequest{App: r.app, Env: r.h.Env, StateDir: r.stateDir})
	if err != nil {
		return fmt.Errorf("Inspect: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range insp.Services {
		seen[s.Process] = true
		if s.Release != id || s.Running < 1 {
			return fmt.Errorf("service %s: release %q, %d of %d running; want %s running", s.Name, s.Release, s.Running, s.Replicas, id)
		}
		for _, t := range s.Tasks {
			if t.Release != id {
				return fmt.Errorf("task %d of %s runs %q, want %s", t.Slot, s.Name, t.Release, id)
			}
		}
	}
	if !seen["web"] || !seen["worker"] || len(insp.Services) != 2 {
		return fmt.Errorf("want a web and a worker service, got %+v", insp.Services)
	}
	return nil
}

func (r *schedRun) checkDeploy(ctx context.Context) error {
	if err := r.need(); err != nil {
		return err
	}
	if r.arts["r1"] == "" {
		return Skipf("nothing published")
	}
	_, err := r.deploy(ctx, "r1", "deploy", "", []platform.Task{{Name: "migrate", When: platform.PhaseRelease, Run: []string{"sh", "-c", "test \"$(cat RELEASE)\" = r1"}}})
	if err != nil {
		return err
	}
	// A failing release task stops the deploy before any update.
	_, err = r.s.Deploy(ctx, &platform.DeployRequest{App: r.app, Env: r.h.Env, StateDir: r.stateDir, Release: r.ref("r1"), Artifact: r.arts["r1"],
		Processes: map[string]string{"web": "sleep 1000", "worker": "sleep 1000"}, Event: "deploy",
		Tasks: []platform.Task{{Name: "fails", When: platform.PhaseRelease, Run: []string{"false"}}}})
	if err == nil || !strings.Contains(err.Error(), "fails") {
		return fmt.Errorf("a failing release task: want an error naming it, got %v", err)
	}
	return nil
}

func (r *schedRun) exec(ctx context.Context, process string, argv ...string) (string, error) {
	var out, errb bytes.Buffer
	err := r.s.Exec(ctx, &platform.ScheduledExecRequest{App: r.app, Env: r.h.Env, StateDir: r.stateDir, Process: process,
		Command: &platform.Command{Args: argv, Stdout: &out, Stderr: &errb}})
	if err != nil {
		return "", fmt.Errorf("Exec %v: %w (stderr %q)", argv, err, errb.String())
	}
	return out.String(), nil
}

func (r *schedRun) checkExec(ctx context.Context) error {
	if err := r.need(); err != nil {
		return err
	}
	out, err := r.exec(ctx, "worker", "sh", "-c", `cat RELEASE; bin/hello; readlink current; echo "$GREETING $API_TOKEN"; stat -c %a settings.json; cat settings.json`)
	if err != nil {
		return err
	}
	want := "r1\nhello from r1\nRELEASE\nhi " + schedSecret + "\n600\n{\"release\":\"r1\"}"
	if out != want {
		return fmt.Errorf("exec in a task: got %q, want %q", out, want)
	}
	if _, err := r.exec(ctx, "worker", "false"); platform.ExitCode(err) != 1 {
		return fmt.Errorf("exec of false: want exit status 1, got %v", err)
	}
	return nil
}

func (r *schedRun) checkLogs(ctx context.Context) error {
	if err := r.need(); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := r.s.Logs(ctx, &platform.LogsRequest{App: r.app, Env: r.h.Env, StateDir: r.stateDir, Processes: []string{"worker"}, Lines: 3, Output: &out}); err != nil {
		return fmt.Errorf("Logs: %w", err)
	}
	if !strings.Contains(out.String(), "worker of r1") || strings.Contains(out.String(), "web of") {
		return fmt.Errorf("logs of worker: %q", out.String())
	}
	if strings.Contains(out.String(), schedSecret) {
		return errors.New("the logs show the secret")
	}
	return nil
}

func (r *schedRun) checkSecond(ctx context.Context) error {
	if err := r.need(); err != nil {
		return err
	}
	if _, err := r.publish(ctx, "r2", "r1"); err != nil {
		return err
	}
	if _, err := r.deploy(ctx, "r2", "deploy", "r1", nil); err != nil {
		return err
	}
	out, err := r.exec(ctx, "web", "bin/hello")
	if err != nil {
		return err
	}
	if out != "hello from r2\n" {
		return fmt.Errorf("r2 runs %q", out)
	}
	return nil
}

func (r *schedRun) checkRollback(ctx context.Context) error {
	if err := r.need(); err != nil {
		return err
	}
	if r.arts["r2"] == "" {
		return Skipf("r2 was not published")
	}
	if _, err := r.deploy(ctx, "r1", "rollback", "r2", nil); err != nil {
		return err
	}
	insp, err := r.s.Inspect(ctx, &platform.InspectRequest{App: r.app, Env: r.h.Env, StateDir: r.stateDir})
	if err != nil {
		return err
	}
	var got []string
	for _, d := range insp.History {
		got = append(got, d.Event+":"+d.Release)
	}
	if strings.Join(got, " ") != "deploy:r1 deploy:r2 rollback:r1" {
		return fmt.Errorf("history: %v", got)
	}
	return nil
}

func (r *schedRun) checkDown(ctx context.Context) error {
	if r.s == nil {
		return Skipf("no scheduler")
	}
	defer os.RemoveAll(r.stateDir)
	pv := r.s.(platform.Provisioner)
	for i := 0; i < 2; i++ {
		if _, err := pv.Down(ctx, &platform.DownRequest{App: r.app, Env: r.h.Env, StateDir: r.stateDir, Destroy: true}); err != nil {
			return fmt.Errorf("Down --destroy (call %d): %w", i+1, err)
		}
	}
	return nil
}
