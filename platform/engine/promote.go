package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform/release"
)

// PromoteOptions tune plat promote FROM TO [RELEASE].
type PromoteOptions struct {
	From, To string
	// Release is FROM's release to promote; "" means the one FROM's hosts
	// run.
	Release  string
	Message  string
	Yes      bool
	LockWait time.Duration
	Force    bool
}

// promotion is the source of a promoted push: a release that passed
// another environment, its metadata and manifest from the store.
type promotion struct {
	rel *release.Release
	man *release.Manifest
}

// Promote pushes the build output of a release that passed From (recorded
// as deployed with outcome ok there) to To: no fetch, no build, the same
// tree except for To's private settings, rolled out with To's rollout.
// The new release records where it came from (Release.PromotedFrom).
func (e *Engine) Promote(ctx context.Context, opts PromoteOptions) (*PushResult, error) {
	if opts.From == opts.To {
		return nil, fmt.Errorf("%w: promote %s to itself: name another environment", ErrConfig, opts.From)
	}
	to, prov, err := e.environment(opts.To)
	if err != nil {
		return nil, err
	}
	if _, ok := schedulerOf(prov); ok {
		return nil, fmt.Errorf("%w: environment %s runs on %s, which plat promote cannot push to yet: push it with plat push", ErrConfig, to.Name, to.Provider.Type)
	}
	src, err := e.promotionSource(ctx, opts.From, opts.Release)
	if err != nil {
		return nil, err
	}
	return e.Push(ctx, PushOptions{EnvName: opts.To, Message: opts.Message, Yes: opts.Yes, LockWait: opts.LockWait, Force: opts.Force, promote: src})
}

// promotionSource finds the release to promote: named, or the one every
// host of env runs; it must have been deployed with outcome ok on env, and
// its build output must be in a store this machine reads.
func (e *Engine) promotionSource(ctx context.Context, env, id string) (*promotion, error) {
	rows, err := e.Releases(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("read the history of %s: %w", env, err)
	}
	if id == "" {
		var current []string
		for _, r := range rows {
			if r.Current && !contains(current, r.ID) {
				current = append(current, r.ID)
			}
		}
		switch len(current) {
		case 0:
			return nil, fmt.Errorf("%w: %s runs no release: push it first, or name the release to promote", ErrConfig, env)
		case 1:
			id = current[0]
		default:
			return nil, fmt.Errorf("%w: the hosts of %s run different releases (%s): name the one to promote", ErrConfig, env, strings.Join(current, ", "))
		}
	}
	if !release.ValidID(id) {
		return nil, fmt.Errorf("%w: %q is not a release id (r1, r2, …)", ErrConfig, id)
	}
	passed := false
	var outcomes []string
	for _, r := range rows {
		if r.ID != id || r.Event != "deploy" {
			continue
		}
		if r.Outcome == "ok" {
			passed = true
		}
		outcomes = append(outcomes, string(r.Outcome))
	}
	if !passed {
		if len(outcomes) == 0 {
			return nil, fmt.Errorf("%w: %s has no release %s deployed: only a release that passed %s can be promoted", ErrConfig, env, id, env)
		}
		return nil, fmt.Errorf("%w: release %s did not pass %s (its deploy: %s): only a release deployed there with outcome ok can be promoted", ErrConfig, id, env, strings.Join(outcomes, ", "))
	}
	if err := e.teamFetch(ctx, env, id); err != nil {
		return nil, err
	}
	st := e.store()
	rel, err := st.Get(env, id)
	if err == nil {
		var man *release.Manifest
		if man, err = st.Manifest(env, id); err == nil {
			return &promotion{rel: rel, man: man}, nil
		}
	}
	if errors.Is(err, release.ErrNotFound) {
		return nil, fmt.Errorf("%w: the build output of %s %s is not in the local store (%s): promote from the machine that pushed it, or give the team a store (plat.hcl `store`)", ErrConfig, env, id, st.Root)
	}
	return nil, fmt.Errorf("read %s %s from the store: %w", env, id, err)
}

// promoted takes the place of build for a promoted push: the source
// release's build output with this environment's private settings
// overlaid, recorded as a new release of it.
func (p *push) promoted(ctx context.Context, work string) error {
	e, src := p.e, p.opts.promote
	if err := p.starting(ctx, src.rel.GitSHA); err != nil {
		return err
	}
	var man *release.Manifest
	err := e.step("localhost", "promote", fmt.Sprintf("%s %s, %s@%s, no build", src.rel.Env, src.rel.ID, src.rel.App, short(src.rel.GitSHA)), func() error {
		for _, en := range src.man.Entries {
			if en.Kind != release.KindDir && !e.store().HasObject(en.Hash) {
				return fmt.Errorf("the store lacks the content of %s in %s %s", en.Path, src.rel.Env, src.rel.ID)
			}
		}
		dir := filepath.Join(work, "private")
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
		// The store keeps private content encrypted: no plain copy stays.
		defer os.RemoveAll(dir)
		private, err := overlayPrivate(p.env.Private, dir)
		if err != nil {
			return err
		}
		priv, err := release.Scan(dir, release.ScanOptions{Private: private})
		if err != nil {
			return err
		}
		if err := e.store().AddTree(dir, priv); err != nil {
			return err
		}
		man = release.WithPrivate(src.man, priv)
		return nil
	})
	if err != nil {
		return err
	}
	n, size := man.Files()
	p.man = man
	p.rel = &release.Release{
		Env: p.env.Name, App: src.rel.App, GitSHA: src.rel.GitSHA, GitRef: src.rel.GitRef, Author: src.rel.Author,
		Pusher: e.user(), Time: e.now().UTC().Truncate(time.Second), Message: p.opts.Message,
		ManifestHash: man.Hash(), Buildpacks: src.rel.Buildpacks, Processes: src.rel.Processes,
		ConfigHash: configHash(e.Project.App, p.env), Files: n, Size: size,
		PromotedFrom: &release.Promotion{Env: src.rel.Env, Release: src.rel.ID, BuildHash: release.BuildHash(src.man)},
	}
	return nil
}

// annotatePromotions fills each row's PromotedFrom from the store.
func annotatePromotions(rows []ReleaseRow, st *release.Store, env string) {
	for i := range rows {
		if rec, err := st.Get(env, rows[i].ID); err == nil && rec.PromotedFrom != nil {
			rows[i].PromotedFrom = rec.PromotedFrom
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
