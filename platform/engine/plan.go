package engine

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/release"
)

// Plan is what `plat push --plan` shows: the release, the stages and their
// hosts, the files that change per host group, and the tasks that run.
type Plan struct {
	Env     string
	Release string
	GitSHA  string
	Files   int
	Size    int64
	Stages  []PlanStage
	Changes []PlanChanges
	Tasks   []string
	Rollout string
	// Steps are the step lists the rollout runs, one per group of hosts
	// whose lists are the same.
	Steps []PlanSteps
}

// PlanSteps is the step list of hosts in one rollout stage.
type PlanSteps struct {
	Stage int // 1-based
	Hosts []string
	Steps []Step
}

// PlanStage is one rollout stage.
type PlanStage struct {
	Hosts []string
}

// PlanChanges are the file changes for hosts that run the same release.
type PlanChanges struct {
	From    string // current release on those hosts ("" for empty hosts)
	Hosts   []string
	Changes []release.Change
}

func (p *push) plan() *Plan {
	pl := &Plan{Env: p.env.Name, Release: p.rel.ID, GitSHA: p.rel.GitSHA}
	pl.Files, pl.Size = p.man.Files()
	st, err := stages(p.env.Rollout.Stages, p.targets)
	if err == nil {
		for _, s := range st {
			pl.Stages = append(pl.Stages, PlanStage{Hosts: names(s)})
		}
	}
	groups := map[string]*PlanChanges{}
	for _, t := range p.targets {
		s := p.states[t.Name]
		from := ""
		if s != nil {
			from = s.Current
		}
		g := groups[from]
		if g == nil {
			g = &PlanChanges{From: from}
			base := &release.Manifest{}
			if s != nil && s.manifest != nil {
				base = s.manifest
			}
			g.Changes = release.Diff(base, p.man)
			groups[from] = g
		}
		g.Hosts = append(g.Hosts, t.Name)
	}
	for _, g := range groups {
		pl.Changes = append(pl.Changes, *g)
	}
	sort.Slice(pl.Changes, func(i, j int) bool { return release.Num(pl.Changes[i].From) < release.Num(pl.Changes[j].From) })
	app := p.e.Project.App
	for _, t := range app.Tasks {
		if t.When == platform.PhaseRelease {
			host := pickHost(p.targets, t.Role)
			name := "?"
			if host != nil {
				name = host.Name
			}
			pl.Tasks = append(pl.Tasks, fmt.Sprintf("release task %s on %s: %s", t.Name, name, strings.Join(t.Run, " ")))
		}
	}
	if cmd, ok := p.rel.Processes["release"]; ok {
		pl.Tasks = append(pl.Tasks, fmt.Sprintf("release process on %s: %s", p.targets[0].Name, cmd))
	}
	ro := p.env.Rollout
	policy := ro.OnFailure
	if policy == "" {
		policy = platform.OnFailureRollback
	}
	pause := "none"
	if ro.Confirm {
		pause = "confirm"
	} else if ro.Pause > 0 {
		pause = ro.Pause.String()
	}
	pl.Steps = p.planSteps()
	pl.Rollout = fmt.Sprintf("on_failure=%s pause=%s max_parallel=%d max_failures=%s health=%s", policy, pause, ro.MaxParallel, orZero(ro.MaxFailures), healthLabel(p.e.health(p.env)))
	return pl
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// Write renders the plan as text. Private files are named, never shown.
func (pl *Plan) Write(w io.Writer) {
	fmt.Fprintf(w, "Plan for %s: release %s (%s), %d files, %s\n", pl.Env, pl.Release, short(pl.GitSHA), pl.Files, humanBytes(pl.Size))
	fmt.Fprintf(w, "Rollout: %s\n", pl.Rollout)
	for i, s := range pl.Stages {
		fmt.Fprintf(w, "  stage %d: %s\n", i+1, strings.Join(s.Hosts, ", "))
	}
	for _, g := range pl.Changes {
		fmt.Fprintf(w, "Changes from %s on %s:\n", orNone(g.From), strings.Join(g.Hosts, ", "))
		if len(g.Changes) == 0 {
			fmt.Fprintln(w, "  (none)")
		}
		for _, c := range g.Changes {
			suffix := ""
			if c.Private {
				suffix = " (private)"
			}
			fmt.Fprintf(w, "  %-8s %s%s\n", c.Op, c.Path, suffix)
		}
	}
	if len(pl.Tasks) == 0 {
		fmt.Fprintln(w, "Tasks: none")
	}
	for _, t := range pl.Tasks {
		fmt.Fprintf(w, "Task: %s\n", t)
	}
	for _, g := range pl.Steps {
		fmt.Fprintf(w, "Steps on %s (stage %d):\n", strings.Join(g.Hosts, ", "), g.Stage)
		writeSteps(w, g.Steps)
	}
}

// hostList is one host's whole list for a push, in the order the rollout
// runs it: upload, the release tasks that run there, switch and health,
// record and prune. (The rollout runs each phase on every host before
// the next phase begins: uploads everywhere, then the tasks, then the
// switch stage by stage.)
func (p *push) hostList(t *platform.Target, up *uploader, tasks []releaseTask) []Step {
	steps := p.uploadList(t, up)
	for _, task := range tasks {
		if task.t == t {
			steps = append(steps, task.step)
		}
	}
	steps = append(steps, p.switchList(t)...)
	return append(steps, p.finishList(context.Background(), t, platform.OutcomeOK, previousRelease(p.states[t.Name], p.rel.ID))...)
}

// planSteps compiles the push for --plan: every pending host's list,
// grouped by stage and by what the list says.
func (p *push) planSteps() []PlanSteps {
	up := newUploader(p.e, p.rel, p.man)
	tasks, err := p.taskList()
	if err != nil {
		return nil
	}
	st, err := stages(p.env.Rollout.Stages, p.pendingTargets())
	if err != nil {
		return nil
	}
	var out []PlanSteps
	for i, stage := range st {
		byText := map[string]int{}
		for _, t := range stage {
			steps := p.hostList(t, up, tasks)
			var b strings.Builder
			writeSteps(&b, steps)
			if j, ok := byText[b.String()]; ok {
				out[j].Hosts = append(out[j].Hosts, t.Name)
				continue
			}
			byText[b.String()] = len(out)
			out = append(out, PlanSteps{Stage: i + 1, Hosts: []string{t.Name}, Steps: steps})
		}
	}
	return out
}
