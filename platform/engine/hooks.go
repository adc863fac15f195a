package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/platform/release"
)

// hookEnv is the environment hooks see.
func (p *push) hookEnv(failure string) map[string]string {
	vars := map[string]string{
		"PLAT_ENV":   p.env.Name,
		"PLAT_USER":  p.e.user(),
		"PLAT_HOSTS": strings.Join(hostNames(p.env), ","),
	}
	if p.rel != nil {
		vars["PLAT_RELEASE"] = p.rel.ID
		vars["PLAT_GIT_SHA"] = p.rel.GitSHA
	}
	prev := map[string]bool{}
	for _, s := range p.states {
		if s.Current != "" {
			prev[s.Current] = true
		}
	}
	var ps []string
	for k := range prev {
		ps = append(ps, k)
	}
	sort.Strings(ps)
	vars["PLAT_PREVIOUS_RELEASE"] = strings.Join(ps, ",")
	if failure != "" {
		vars["PLAT_ERROR"] = failure
	}
	return vars
}

func hostNames(env *platform.Environment) []string {
	var out []string
	for _, h := range env.Hosts() {
		out = append(out, h.Name)
	}
	return out
}

// runHooks runs the hooks of an event: local ones in the project
// directory, on = "hosts" ones on every target in its current release
// (in deploy_to before a host's first release).
// The first failure stops and is returned.
func (e *Engine) runHooks(ctx context.Context, env *platform.Environment, ev platform.HookEvent, vars map[string]string, ts []*platform.Target) error {
	for _, h := range env.Hooks {
		if h.Event != ev {
			continue
		}
		h := h
		if !h.OnHost {
			err := e.step("localhost", "hook "+string(ev), strings.Join(h.Run, " "), func() error {
				var kv []string
				for k, v := range vars {
					kv = append(kv, k+"="+v)
				}
				return runLocal(ctx, e.Project.Dir, kv, h.Run, e.output("localhost"))
			})
			if err != nil {
				return err
			}
			continue
		}
		errs := e.forEach(ctx, ts, 0, func(ctx context.Context, t *platform.Target) error {
			return e.step(t.Name, "hook "+string(ev), strings.Join(h.Run, " "), func() error {
				cmd := hostcmd.InCurrent(t.DeployTo, h.Run)
				cmd.Env = mergeEnv(vars, map[string]string{"PLAT_HOST": t.Name})
				cmd.Stdout, cmd.Stderr = e.output(t.Name), e.output(t.Name)
				_, err := run(ctx, t, cmd)
				return err
			})
		})
		if len(errs) > 0 {
			return &DeployError{Op: fmt.Sprintf("hook %s", ev), Hosts: errs}
		}
	}
	return nil
}

// starting runs the starting hooks once the source is fetched (so
// PLAT_GIT_SHA and the release id are known) and before anything is
// built or uploaded; a failing one stops the push. --plan runs no hooks.
func (p *push) starting(ctx context.Context, sha string) error {
	if p.opts.Plan {
		return nil
	}
	vars := p.hookEnv("")
	vars["PLAT_RELEASE"] = release.ID(p.nextNumber())
	vars["PLAT_GIT_SHA"] = sha
	if err := p.e.runHooks(ctx, p.env, platform.HookStarting, vars, p.targets); err != nil {
		return fmt.Errorf("hook starting failed; nothing was built or uploaded: %w", err)
	}
	return nil
}
