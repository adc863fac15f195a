package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/providers/local"
)

// recorder is a Transport that runs nothing: it records each command as
// "SCRIPT ARGS…" (the host script's name, then its arguments, quoted when
// empty or spaced) and answers
// with the output and exit code set for that script. The supervisors'
// host scripts are tested on their own in platform/hostcmd; this checks
// which ones each supervisor runs, in what order, with what.
type recorder struct {
	mu    sync.Mutex
	calls []string
	out   map[string]string
	exit  map[string]int
}

// scriptNames maps each host script's text to a short name.
var scriptNames = map[string]string{
	hostcmd.Switch("", "").Args[2]:                      "switch",
	hostcmd.Stop("", 0, "").Args[2]:                     "stop",
	hostcmd.Start("", "", "", nil).Args[2]:              "start",
	hostcmd.Promote("", "").Args[2]:                     "promote",
	hostcmd.WaitListen("", "", "", 0, 0).Args[2]:        "wait-listen",
	hostcmd.Processes("").Args[2]:                       "ps",
	hostcmd.SystemdInstall(hostcmd.Units{}).Args[2]:     "systemd-install",
	hostcmd.SystemdStart().Args[2]:                      "systemd-restart",
	hostcmd.SystemdStop("", "", "").Args[2]:             "systemd-stop",
	hostcmd.SystemdControl("", "", "", "", nil).Args[2]: "systemctl",
	hostcmd.SystemdProcesses("", "", "", nil).Args[2]:   "systemd-ps",
	hostcmd.SystemdUnits("", "", "").Args[2]:            "systemd-units",
	hostcmd.InDir("", nil).Args[2]:                      "in-dir",
}

func (r *recorder) Run(_ context.Context, cmd *platform.Command) error {
	name, ok := scriptNames[cmd.Args[2]]
	if !ok || cmd.Args[0] != "sh" {
		name = strings.Join(cmd.Args, " ")
	}
	args := cmd.Args[4:]
	if name == "systemd-install" {
		args = args[:2] // the unit files' contents are hostcmd's (golden) test
	}
	call := name
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \"") {
			a = strconv.Quote(a)
		}
		call += " " + a
	}
	r.mu.Lock()
	r.calls = append(r.calls, call)
	out, code := r.out[name], r.exit[name]
	r.mu.Unlock()
	if cmd.Stdout != nil {
		io.WriteString(cmd.Stdout, out)
	}
	if code != 0 {
		return &platform.ExitError{Code: code}
	}
	return nil
}

func (r *recorder) Close() error { return nil }

func testSupervisor(t *testing.T, restart []string, env *platform.Environment, tr platform.Transport) (*Engine, Supervisor, *platform.Target) {
	t.Helper()
	e := &Engine{Project: &platform.Project{App: &platform.App{Name: "notes", Restart: restart}}}
	if env.Name == "" {
		env.Name = "prod"
	}
	tg := &platform.Target{Name: "web1", DeployTo: "/d", Port: 8000, Transport: tr}
	return e, e.supervisor(env, tg), tg
}

func TestSupervisorIsChosenFromTheSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart []string
		env     platform.Environment
		want    string
	}{
		{"default", nil, platform.Environment{}, "*engine.pidSupervisor"},
		{"stop-start", nil, platform.Environment{Rollout: platform.Rollout{Restart: platform.RestartStopStart}}, "*engine.pidSupervisor"},
		{"overlap", nil, platform.Environment{Rollout: platform.Rollout{Restart: platform.RestartOverlap}}, "*engine.overlapSupervisor"},
		{"systemd", nil, platform.Environment{Processes: "systemd", Rollout: platform.Rollout{Restart: platform.RestartOverlap}}, "*engine.systemdSupervisor"},
		{"the app's command wins", []string{"touch", "tmp/restart.txt"}, platform.Environment{Processes: "systemd"}, "*engine.commandSupervisor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s, _ := testSupervisor(t, tc.restart, &tc.env, &recorder{})
			if got := fmt.Sprintf("%T", s); got != tc.want {
				t.Errorf("supervisor = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestSupervisorCommands: what each supervisor runs on the host for each
// operation (drain 2s is 20 tenths; without a health block the new web
// process may take 30s, 300 tenths, to listen).
func TestSupervisorCommands(t *testing.T) {
	procs := map[string]string{"web": "./web", "worker": "./work", "release": "./migrate"}
	drain := platform.Rollout{DrainTimeout: 2 * time.Second}
	overlap := drain
	overlap.Restart = platform.RestartOverlap
	type op func(ctx context.Context, s Supervisor) error
	activate := func(ctx context.Context, s Supervisor) error { return s.Activate(ctx, "r2", procs, nil) }
	for _, tc := range []struct {
		name    string
		restart []string
		env     platform.Environment
		op      op
		out     map[string]string
		exit    map[string]int
		want    []string
		err     string
	}{
		{name: "pid activate", env: platform.Environment{Rollout: drain}, op: activate, want: []string{
			`stop /d 20 ""`, "switch /d r2", `start /d r2 "" web ./web worker ./work`}},
		{name: "pid activate without processes", env: platform.Environment{Rollout: drain},
			op: func(ctx context.Context, s Supervisor) error {
				return s.Activate(ctx, "r2", map[string]string{"release": "x"}, nil)
			},
			want: []string{"switch /d r2"}},
		{name: "pid start clears dead pid files first", env: platform.Environment{Rollout: drain},
			op: func(ctx context.Context, s Supervisor) error {
				return s.Start(ctx, "r1", map[string]string{"worker": "./work"}, nil)
			},
			want: []string{`stop /d 1 "" worker`, `start /d r1 "" worker ./work`}},
		{name: "pid stop", env: platform.Environment{Rollout: drain},
			op:   func(ctx context.Context, s Supervisor) error { return s.Stop(ctx, 3*time.Second, "web") },
			want: []string{`stop /d 30 "" web`}},
		{name: "pid restart", env: platform.Environment{Rollout: drain},
			op: func(ctx context.Context, s Supervisor) error {
				return s.Restart(ctx, "r1", map[string]string{"web": "./web"}, nil)
			},
			want: []string{`stop /d 20 "" web`, `start /d r1 "" web ./web`}},
		{name: "overlap activate", env: platform.Environment{Rollout: overlap}, op: activate, want: []string{
			"stop /d 20 .next web", `stop /d 20 "" worker`, "switch /d r2", "start /d r2 .next web ./web",
			`wait-listen /d web .next 8000 300 "" ""`, `stop /d 20 "" web`, "promote /d .next", `start /d r2 "" worker ./work`}},
		{name: "overlap: the new web never listens, the old keeps serving", env: platform.Environment{Rollout: overlap}, op: activate,
			exit: map[string]int{"wait-listen": hostcmd.ExitListenTimeout},
			want: []string{"stop /d 20 .next web", `stop /d 20 "" worker`, "switch /d r2", "start /d r2 .next web ./web",
				`wait-listen /d web .next 8000 300 "" ""`, "stop /d 20 .next web"},
			err: "the app must allow SO_REUSEPORT"},
		{name: "overlap without web is stop-start", env: platform.Environment{Rollout: overlap},
			op: func(ctx context.Context, s Supervisor) error {
				return s.Activate(ctx, "r2", map[string]string{"worker": "./work"}, nil)
			},
			want: []string{`stop /d 20 ""`, "switch /d r2", `start /d r2 "" worker ./work`}},
		{name: "systemd activate", env: platform.Environment{Processes: "systemd", Rollout: drain}, op: activate, want: []string{
			"systemd-install plat-notes-prod-web1- /d/.plat/logs", "switch /d r2",
			"systemd-restart plat-notes-prod-web1-web.service plat-notes-prod-web1-worker.service"}},
		{name: "systemd start", env: platform.Environment{Processes: "systemd"},
			op: func(ctx context.Context, s Supervisor) error {
				return s.Start(ctx, "r1", map[string]string{"web": "./web"}, nil)
			},
			want: []string{"systemctl start plat-notes-prod-web1-web.service"}},
		{name: "systemd stop all", env: platform.Environment{Processes: "systemd"},
			op:   func(ctx context.Context, s Supervisor) error { return s.Stop(ctx, time.Second) },
			want: []string{"systemd-stop plat-notes-prod-web1-"}},
		{name: "systemd stop one", env: platform.Environment{Processes: "systemd"},
			op:   func(ctx context.Context, s Supervisor) error { return s.Stop(ctx, time.Second, "worker") },
			want: []string{"systemctl stop plat-notes-prod-web1-worker.service"}},
		{name: "systemd restart", env: platform.Environment{Processes: "systemd"},
			op: func(ctx context.Context, s Supervisor) error {
				return s.Restart(ctx, "r1", map[string]string{"web": "./web"}, nil)
			},
			want: []string{"systemd-restart plat-notes-prod-web1-web.service"}},
		{name: "app command activate", restart: []string{"touch", "tmp/restart.txt"}, env: platform.Environment{Processes: "systemd"}, op: activate,
			want: []string{"switch /d r2", "in-dir /d/releases/r2 touch tmp/restart.txt"}},
		{name: "app command stop does nothing", restart: []string{"true"},
			op: func(ctx context.Context, s Supervisor) error { return s.Stop(ctx, time.Second) }},
		{name: "app command start is refused", restart: []string{"true"},
			op:  func(ctx context.Context, s Supervisor) error { return s.Start(ctx, "r1", procs, nil) },
			err: "processes are managed by the app's restart command (true)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{out: tc.out, exit: tc.exit}
			_, s, _ := testSupervisor(t, tc.restart, &tc.env, rec)
			// A cancelled context: plat's own process commands still run to
			// their end in Activate.
			ctx := context.Background()
			if strings.Contains(tc.name, "activate") {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}
			err := tc.op(ctx, s)
			if tc.err == "" && err != nil {
				t.Fatalf("error: %v", err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error = %v, want %q", err, tc.err)
			}
			if !reflect.DeepEqual(rec.calls, tc.want) {
				t.Errorf("host commands:\n  %s\nwant:\n  %s", strings.Join(rec.calls, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestSystemdSupervisorList(t *testing.T) {
	show := "unit plat-notes-prod-web1-web.service\nMainPID=812\nActiveState=active\nSubState=running\nActiveEnterTimestamp=@1764700000\n" +
		"unit plat-notes-prod-web1-worker.service\nMainPID=0\nActiveState=failed\nSubState=failed\nActiveEnterTimestamp=@1764600000\n"
	rec := &recorder{out: map[string]string{"systemd-ps": show, "systemd-units": show}}
	_, s, _ := testSupervisor(t, nil, &platform.Environment{Processes: "systemd"}, rec)

	ps, err := s.List(context.Background(), []string{"clock", "web", "worker"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%s %d %s %s", p.Type, p.PID, p.state, p.Process.State()))
	}
	// A unit systemd does not know (clock) and a failed one are stopped,
	// with no pid; systemd's own words stay in State.
	want := []string{"clock 0 stopped dead", "web 812 running active (running)", "worker 0 stopped failed (failed)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List(types) = %q, want %q", got, want)
	}
	if !ps[1].Since.Equal(time.Unix(1764700000, 0)) || !ps[2].Since.IsZero() {
		t.Errorf("since: %v, %v", ps[1].Since, ps[2].Since)
	}

	// status: every unit file of the app on the host, no Procfile needed.
	ps, err = s.List(context.Background(), nil)
	if err != nil || len(ps) != 2 || ps[0].Type != "web" || ps[0].Unit != "plat-notes-prod-web1-web.service" || ps[1].Type != "worker" || ps[1].state != StateStopped {
		t.Errorf("List(nil) = %+v, %v", ps, err)
	}
	if want := []string{
		"systemd-ps plat-notes-prod-web1-clock.service plat-notes-prod-web1-web.service plat-notes-prod-web1-worker.service",
		"systemd-units plat-notes-prod-web1-",
	}; !reflect.DeepEqual(rec.calls, want) {
		t.Errorf("host commands %q, want %q", rec.calls, want)
	}
	if c := s.Owns(8000, time.Second); c == nil || c.Args[len(c.Args)-1] != "plat-notes-prod-web1-web.service" {
		t.Errorf("Owns checks %v, want the web unit", c)
	}
}

// TestPidSupervisorOnALocalHost runs plat's own supervisor for real: the
// local transport, real processes, a temp deploy_to.
func TestPidSupervisorOnALocalHost(t *testing.T) {
	d := t.TempDir()
	for _, r := range []string{"releases/r1", "releases/r2", ".plat"} {
		if err := os.MkdirAll(filepath.Join(d, r), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := &Engine{Project: &platform.Project{App: &platform.App{Name: "notes"}}}
	tg := &platform.Target{Name: "web1", DeployTo: d, Transport: &local.Transport{Dir: d}}
	s := e.supervisor(&platform.Environment{Name: "prod", Rollout: platform.Rollout{DrainTimeout: time.Second}}, tg)
	ctx := context.Background()
	procs := map[string]string{"web": "exec sleep 60", "worker": "exec sleep 60", "release": "exit 1"}
	t.Cleanup(func() { _ = s.Stop(context.Background(), 0) })

	list := func() map[string]hostProcess {
		t.Helper()
		ps, err := s.List(ctx, []string{"web", "worker"})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]hostProcess{}
		for _, p := range ps {
			m[p.Type] = p
		}
		return m
	}
	if err := s.Activate(ctx, "r1", procs, map[string]string{"PLAT_RELEASE": "r1"}); err != nil {
		t.Fatal(err)
	}
	if cur, _ := os.Readlink(filepath.Join(d, "current")); cur != "releases/r1" {
		t.Errorf("current -> %q", cur)
	}
	// Until a new process has exec'd, /proc shows the forking shell's
	// environment, without PLAT_PROCESS: ps.sh calls it stale (dead).
	running := func() bool {
		ps := list()
		return ps["web"].state == StateRunning && ps["worker"].state == StateRunning
	}
	waitFor(t, running)
	ps := list()
	if len(ps) != 2 || ps["web"].state != StateRunning || ps["worker"].state != StateRunning || ps["web"].PID == 0 {
		t.Fatalf("after activate: %+v", ps)
	}
	if _, err := os.Stat(filepath.Join(d, ".plat", "pids", "release.pid")); !os.IsNotExist(err) {
		t.Errorf("the release type was started as a process: %v", err)
	}
	web := ps["web"].PID

	if err := s.Stop(ctx, time.Second, "worker"); err != nil {
		t.Fatal(err)
	}
	if ps := list(); ps["worker"].state != StateStopped || ps["web"].PID != web {
		t.Errorf("after stopping the worker: %+v", ps)
	}
	// A crash: the web process is dead, until Start.
	if err := syscall.Kill(web, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return list()["web"].state == StateDead })
	if err := s.Start(ctx, "r1", map[string]string{"web": procs["web"], "worker": procs["worker"]}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, running)
	ps = list()
	if ps["web"].state != StateRunning || ps["web"].PID == web || ps["worker"].state != StateRunning {
		t.Errorf("after start: %+v", ps)
	}
	// A new release: the old processes go, new ones come.
	old := ps["worker"].PID
	if err := s.Activate(ctx, "r2", procs, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, running)
	if ps := list(); ps["worker"].PID == old {
		t.Errorf("after activating r2: %+v", ps)
	}
	if alive(old) {
		t.Errorf("the old worker %d still runs", old)
	}
	if err := s.Stop(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if ps := list(); ps["web"].state != StateStopped || ps["worker"].state != StateStopped {
		t.Errorf("after stopping all: %+v", ps)
	}
}

// alive: pid runs and is not a zombie (nobody here need reap it).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	return err == nil && !strings.Contains(string(b), "\nState:\tZ")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}
