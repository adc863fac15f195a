package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// Config says what Run measures.
type Config struct {
	// Plat is the plat binary (built from ./cmd/plat).
	Plat string
	// Sizes are the fleet sizes, e.g. [10, 50].
	Sizes []int
	// Runs is the number of measured runs per scenario (at least 1).
	Runs int
	App  AppSpec
	// Dir is the work directory: the app, the fleets and their hosts'
	// trees live under it. The caller removes it.
	Dir string
	// Settle is how long to wait after removing large trees, so the file
	// system's background work does not land in the next measurement.
	Settle time.Duration
	// Log receives one line per measurement (may be nil).
	Log io.Writer
	// LoNote says what the loopback interface carries, for the report.
	LoNote string
	// ProfileDir, when set, gets a CPU profile of every plat run
	// (PLAT_CPUPROFILE), named <scenario>-n<N>-<run>.prof.
	ProfileDir string
}

// Scenario names, in report order.
const (
	ScenarioCold        = "cold"
	ScenarioIncremental = "incremental"
	ScenarioNoop        = "no-op"
	ScenarioForced      = "no-op --force"
	ScenarioRollback    = "rollback"
	ScenarioBuild       = "build+package"
)

// ScenarioResult is one scenario on one fleet.
type ScenarioResult struct {
	Name string
	// What plat runs, for the report.
	Command string
	Plat    []Sample
	// Rsync is the baseline (nil where it has no counterpart).
	Rsync []Sample
	// Floor is the least a host must receive (incremental: the changed
	// files gzipped on their own), 0 when not applicable.
	Floor int64
}

// FleetResult is every scenario on a fleet of N hosts.
type FleetResult struct {
	N         int
	Scenarios []*ScenarioResult
}

// Scenario returns the named scenario's result, or nil.
func (f *FleetResult) Scenario(name string) *ScenarioResult {
	for _, s := range f.Scenarios {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Report is a whole benchmark run.
type Report struct {
	Machine MachineInfo
	Start   time.Time
	End     time.Time
	Commit  string // plat's git commit
	App     *AppInfo
	Runs    int
	Fleets  []*FleetResult
	// LoNote says what the loopback interface carries.
	LoNote string
	// InodeCost is the CPU time to create one empty file in the work
	// directory (a file system probe: on slow file systems it dominates).
	InodeCost time.Duration
	// GoBench is the output of the release package's Go benchmarks.
	GoBench string
	// Scale are the large-tree pushes (ScaleTrees).
	Scale []*ScaleResult
}

// Run generates the app and measures every scenario on each fleet size.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Runs < 1 {
		cfg.Runs = 1
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	rep := &Report{Machine: Machine(), Start: time.Now(), Runs: cfg.Runs, LoNote: cfg.LoNote}
	appDir := filepath.Join(cfg.Dir, "app")
	logf("generating the app in %s", appDir)
	info, err := GenerateApp(ctx, appDir, cfg.App)
	if err != nil {
		return nil, fmt.Errorf("generate app: %w", err)
	}
	rep.App = info
	if c, err := InodeCost(filepath.Join(cfg.Dir, "probe")); err == nil {
		rep.InodeCost = c
		logf("creating one file costs %s of CPU here", c)
	}
	logf("app: %d files, %.1f MB (%.1f MB incompressible), commit %s", info.Files, mb(info.Bytes), mb(info.Binary), info.Commit[:12])
	round := 0
	for _, n := range cfg.Sizes {
		r := &runner{cfg: cfg, app: info, n: n, logf: logf, round: &round}
		fr, err := r.run(ctx)
		if err != nil {
			return rep, fmt.Errorf("fleet of %d: %w", n, err)
		}
		rep.Fleets = append(rep.Fleets, fr)
	}
	rep.End = time.Now()
	return rep, nil
}

// runner measures one fleet size.
type runner struct {
	cfg   Config
	app   *AppInfo
	n     int
	logf  func(string, ...any)
	round *int
	fleet *sshtest.Fleet
	// scenario and profiles name CPU profiles.
	scenario string
	profiles int
	// coldRuns are the cold runs' deploy roots still on the hosts;
	// keepCold leaves them until the fleet is done (when the disk has
	// room), so no removal runs between measurements.
	coldRuns []string
	keepCold bool
}

func (r *runner) run(ctx context.Context) (*FleetResult, error) {
	dir := filepath.Join(r.cfg.Dir, fmt.Sprintf("fleet%d", r.n))
	r.logf("fleet of %d: starting sshd hosts", r.n)
	f, err := sshtest.Start(ctx, sshtest.Options{N: r.n, Dir: dir})
	if err != nil {
		return nil, err
	}
	r.fleet = f
	defer func() {
		f.Close()
		os.RemoveAll(dir)
	}()
	// Each fleet starts from a project that never pushed.
	if err := os.RemoveAll(filepath.Join(r.app.Dir, ".plat")); err != nil {
		return nil, err
	}
	if err := r.writeHCL(); err != nil {
		return nil, err
	}
	need := int64(r.cfg.Runs) * int64(r.n) * 2 * r.app.Bytes * 3 / 2
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err == nil && int64(fs.Bavail)*int64(fs.Bsize) > 2*need {
		r.keepCold = true
	}
	defer r.removeCold()
	fr := &FleetResult{N: r.n}
	steps := []func(context.Context) (*ScenarioResult, error){r.cold, r.incremental, r.noop, r.forced, r.rollback, r.build}
	for _, step := range steps {
		s, err := step(ctx)
		if err != nil {
			return fr, err
		}
		fr.Scenarios = append(fr.Scenarios, s)
		r.settle()
	}
	return fr, nil
}

// writeHCL writes the project's plat.hcl (untracked): environment "fleet"
// over the ssh hosts, deploy_to under each host's own root and the run
// variable (cold runs use fresh roots), and "build", a local environment
// for timing build+package alone.
func (r *runner) writeHCL() error {
	var hosts []string
	for _, h := range r.fleet.Hosts {
		hosts = append(hosts, fmt.Sprintf("%q", h.Name))
	}
	hcl := fmt.Sprintf(`variable "run" {
  default = "main"
}

app "benchapp" {
  buildpack = "procfile"
}

environment "fleet" {
  provider "ssh" {
    ssh_config  = %q
    known_hosts = %q
  }
  deploy_to = "%s/${host.name}/root/${var.run}"
  cluster "web" {
    hosts = [%s]
  }
}

environment "build" {
  provider "local" {}
  cluster "web" {
    count = 1
  }
}
`, r.fleet.SSHConfig, r.fleet.KnownHosts, r.fleet.Dir, strings.Join(hosts, ", "))
	return os.WriteFile(filepath.Join(r.app.Dir, "plat.hcl"), []byte(hcl), 0o644)
}

// plat returns a plat command for the app.
func (r *runner) plat(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.cfg.Plat, append([]string{"-C", r.app.Dir, "--no-color"}, args...)...)
	cmd.Env = append(os.Environ(), "CI=true")
	if r.cfg.ProfileDir != "" {
		r.profiles++
		name := fmt.Sprintf("%s-n%d-%d.prof", strings.NewReplacer(" ", "", "+", "-", "--", "").Replace(r.scenario), r.n, r.profiles)
		cmd.Env = append(cmd.Env, "PLAT_CPUPROFILE="+filepath.Join(r.cfg.ProfileDir, name))
	}
	return cmd
}

// rsyncAll returns one rsync per host: the app's tree (without .git and
// plat's files) into <root>/rsync-<run>/ over ssh with the fleet's config.
func (r *runner) rsyncAll(ctx context.Context, run string) []*exec.Cmd {
	var cmds []*exec.Cmd
	for _, h := range r.fleet.Hosts {
		cmd := exec.CommandContext(ctx, "rsync", "-a", "--delete",
			"--exclude=/.git", "--exclude=/.plat", "--exclude=/plat.hcl",
			"-e", "ssh -F "+r.fleet.SSHConfig,
			r.app.Dir+"/", h.Name+":"+filepath.Join(h.Root, "rsync-"+run)+"/")
		cmds = append(cmds, cmd)
	}
	return cmds
}

// pair measures plat and then rsync (or the other way round on odd runs,
// so neither always runs on a warmer cache).
func (r *runner) pair(ctx context.Context, s *ScenarioResult, i int, platCmd func() *exec.Cmd, rsyncCmds func() []*exec.Cmd) error {
	r.scenario = s.Name
	measurePlat := func() error {
		smp, err := Measure(ctx, platCmd())
		if err != nil {
			return fmt.Errorf("%s run %d: %w", s.Name, i+1, err)
		}
		s.Plat = append(s.Plat, smp)
		r.logf("  N=%d %-14s run %d  plat  %7.3fs  lo %8.1f MB  cpu %6.2fs  rss %4.0f MB", r.n, s.Name, i+1, smp.Wall.Seconds(), mb(smp.LoBytes), smp.CPU.Seconds(), mb(smp.MaxRSS))
		return nil
	}
	measureRsync := func() error {
		if rsyncCmds == nil {
			return nil
		}
		smp, err := Measure(ctx, rsyncCmds()...)
		if err != nil {
			return fmt.Errorf("%s run %d: rsync: %w", s.Name, i+1, err)
		}
		smp.Output = ""
		s.Rsync = append(s.Rsync, smp)
		r.logf("  N=%d %-14s run %d  rsync %7.3fs  lo %8.1f MB  cpu %6.2fs", r.n, s.Name, i+1, smp.Wall.Seconds(), mb(smp.LoBytes), smp.CPU.Seconds())
		return nil
	}
	first, second := measurePlat, measureRsync
	if i%2 == 1 {
		first, second = second, first
	}
	if err := first(); err != nil {
		return err
	}
	return second()
}

// cold pushes to empty hosts: each run into fresh deploy roots (the last
// run into the roots the next scenarios use), then removes the others.
func (r *runner) cold(ctx context.Context) (*ScenarioResult, error) {
	s := &ScenarioResult{Name: ScenarioCold, Command: "plat push fleet (empty hosts)"}
	for i := 0; i < r.cfg.Runs; i++ {
		run := fmt.Sprintf("cold%d", i+1)
		if i == r.cfg.Runs-1 {
			run = "main"
		}
		err := r.pair(ctx, s, i,
			func() *exec.Cmd { return r.plat(ctx, "--var", "run="+run, "push", "fleet") },
			func() []*exec.Cmd { return r.rsyncAll(ctx, run) })
		if err != nil {
			return nil, err
		}
		if err := r.checkCurrent(run); err != nil {
			return nil, err
		}
		if run != "main" {
			r.coldRuns = append(r.coldRuns, run)
			if !r.keepCold {
				// Removing big trees makes the file system busy for a
				// while: the next run would pay for it.
				r.removeCold()
				r.settleLong()
			}
		}
	}
	return s, nil
}

// removeCold removes the cold runs' trees from every host.
func (r *runner) removeCold() {
	for _, run := range r.coldRuns {
		for _, h := range r.fleet.Hosts {
			os.RemoveAll(filepath.Join(h.Root, run))
			os.RemoveAll(filepath.Join(h.Root, "rsync-"+run))
		}
	}
	r.coldRuns = nil
}

// settleLong waits after removing trees: ten settle periods.
func (r *runner) settleLong() {
	r.settle()
	time.Sleep(9 * r.cfg.Settle)
}

// checkCurrent fails unless every host has a current release under run.
func (r *runner) checkCurrent(run string) error {
	for _, h := range r.fleet.Hosts {
		if _, err := os.Stat(filepath.Join(h.Root, run, "current", ".plat", "manifest")); err != nil {
			return fmt.Errorf("%s has no current release after the push: %w", h.Name, err)
		}
	}
	return nil
}

// incremental changes three files per run, commits, and pushes.
func (r *runner) incremental(ctx context.Context) (*ScenarioResult, error) {
	s := &ScenarioResult{Name: ScenarioIncremental, Command: "plat push fleet (3 files changed)"}
	for i := 0; i < r.cfg.Runs; i++ {
		*r.round++
		paths, floor, err := ChangeFiles(ctx, r.app.Dir, *r.round)
		if err != nil {
			return nil, err
		}
		s.Floor = max(s.Floor, floor)
		err = r.pair(ctx, s, i,
			func() *exec.Cmd { return r.plat(ctx, "push", "fleet") },
			func() []*exec.Cmd { return r.rsyncAll(ctx, "main") })
		if err != nil {
			return nil, err
		}
		if err := r.checkContent(paths); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkContent fails unless every host's current release holds the
// working tree's version of paths.
func (r *runner) checkContent(paths []string) error {
	for _, p := range paths {
		want, err := os.ReadFile(filepath.Join(r.app.Dir, filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		for _, h := range r.fleet.Hosts {
			got, err := os.ReadFile(filepath.Join(h.Root, "main", "current", filepath.FromSlash(p)))
			if err != nil || string(got) != string(want) {
				return fmt.Errorf("%s: %s is not the committed version after the push (%v)", h.Name, p, err)
			}
		}
	}
	return nil
}

// noop pushes the same commit again: plat finds nothing to do.
func (r *runner) noop(ctx context.Context) (*ScenarioResult, error) {
	s := &ScenarioResult{Name: ScenarioNoop, Command: "plat push fleet (same commit)"}
	for i := 0; i < r.cfg.Runs; i++ {
		err := r.pair(ctx, s, i,
			func() *exec.Cmd { return r.plat(ctx, "push", "fleet") },
			func() []*exec.Cmd { return r.rsyncAll(ctx, "main") })
		if err != nil {
			return nil, err
		}
		if out := s.Plat[len(s.Plat)-1].Output; !strings.Contains(out, "nothing to push") {
			return nil, fmt.Errorf("no-op push did not report nothing to push:\n%s", tail(out))
		}
	}
	return s, nil
}

// forced pushes the same commit with --force: a complete new release
// directory on every host (cp -al of the current one) and a switch.
func (r *runner) forced(ctx context.Context) (*ScenarioResult, error) {
	s := &ScenarioResult{Name: ScenarioForced, Command: "plat push fleet --force (same commit)"}
	for i := 0; i < r.cfg.Runs; i++ {
		before, err := r.current(r.fleet.Hosts[0])
		if err != nil {
			return nil, err
		}
		err = r.pair(ctx, s, i,
			func() *exec.Cmd { return r.plat(ctx, "push", "fleet", "--force") },
			func() []*exec.Cmd { return r.rsyncAll(ctx, "main") })
		if err != nil {
			return nil, err
		}
		after, err := r.current(r.fleet.Hosts[0])
		if err != nil {
			return nil, err
		}
		if after == before {
			return nil, fmt.Errorf("forced push left %s on %s", before, r.fleet.Hosts[0].Name)
		}
	}
	return s, nil
}

func (r *runner) current(h *sshtest.Host) (string, error) {
	l, err := os.Readlink(filepath.Join(h.Root, "main", "current"))
	if err != nil {
		return "", err
	}
	return filepath.Base(l), nil
}

// rollback switches between the two newest releases, alternately.
func (r *runner) rollback(ctx context.Context) (*ScenarioResult, error) {
	s := &ScenarioResult{Name: ScenarioRollback, Command: "plat rollback fleet RELEASE (release on the hosts)"}
	cur, err := r.current(r.fleet.Hosts[0])
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Join(r.fleet.Hosts[0].Root, "main", "releases"))
	if err != nil {
		return nil, err
	}
	prev := ""
	for _, e := range ents {
		if e.Name() != cur && strings.HasPrefix(e.Name(), "r") && num(e.Name()) > num(prev) {
			prev = e.Name()
		}
	}
	if prev == "" {
		return nil, fmt.Errorf("rollback: no release besides %s on %s", cur, r.fleet.Hosts[0].Name)
	}
	for i := 0; i < r.cfg.Runs; i++ {
		to := prev
		if i%2 == 1 {
			to = cur
		}
		err := r.pair(ctx, s, i, func() *exec.Cmd { return r.plat(ctx, "rollback", "fleet", to) }, nil)
		if err != nil {
			return nil, err
		}
		for _, h := range r.fleet.Hosts {
			if got, err := r.current(h); err != nil || got != to {
				return nil, fmt.Errorf("rollback to %s: %s is on %q (%v)", to, h.Name, got, err)
			}
		}
	}
	// Leave the fleet on the newest release.
	if _, err := Measure(ctx, r.plat(ctx, "rollback", "fleet", cur)); err != nil {
		return nil, err
	}
	return s, nil
}

// build times fetch, build and package alone: --plan on a local
// environment (no SSH, nothing uploaded).
func (r *runner) build(ctx context.Context) (*ScenarioResult, error) {
	s := &ScenarioResult{Name: ScenarioBuild, Command: "plat push build --plan (local provider: fetch, build, package)"}
	for i := 0; i < r.cfg.Runs; i++ {
		if err := r.pair(ctx, s, i, func() *exec.Cmd { return r.plat(ctx, "push", "build", "--plan") }, nil); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// settle flushes dirty pages and waits, so writeback and freeing of
// removed trees happen between measurements.
func (r *runner) settle() {
	_ = exec.Command("sync").Run()
	time.Sleep(r.cfg.Settle)
}

func num(id string) int {
	n := 0
	for _, c := range strings.TrimPrefix(id, "r") {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }
