package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/release"
)

// The team's store (plat.hcl `store`) is a release.Store every pusher
// reaches: each push copies its release there after recording it locally
// (teamPut), and a rollback or promote that needs a release the local
// store lacks copies it from there first (teamFetch). Private content and
// secret values stay age-encrypted on the way and there, so the team
// shares the age identity, as it already does for comparable secret
// digests. Hosts still hold the truth for history; the two stores hold
// the build output that lets any pusher upload a release again.

// teamStore is the team's store, nil when plat.hcl names none.
func (e *Engine) teamStore() (*release.Store, error) {
	if e.Project == nil || e.Project.Store == nil {
		return nil, nil
	}
	root := e.Project.Store.Path
	if rest, ok := strings.CutPrefix(root, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("team store %s: %w", root, err)
		}
		root = filepath.Join(home, rest)
	}
	local := e.store()
	return &release.Store{Root: root, Keys: local.Keys}, nil
}

// teamPut copies a release just recorded in the local store to the team's.
func (e *Engine) teamPut(ctx context.Context, env, id string) error {
	team, err := e.teamStore()
	if team == nil || err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	start := e.startStep("localhost", "team store", fmt.Sprintf("%s %s to %s", env, id, team.Root))
	n, err := e.store().CopyRelease(team, env, id)
	if err == nil {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("team store: %d new objects", n)})
	}
	e.endStep("localhost", "team store", start, err)
	if err != nil {
		return fmt.Errorf("copy release %s to the team store %s (nothing was uploaded): %w", id, team.Root, err)
	}
	return nil
}

// teamFetch copies env/id from the team's store into the local one when
// the local store lacks it and the team's has it; otherwise it does
// nothing (the caller says what is missing).
func (e *Engine) teamFetch(env, id string) error {
	team, err := e.teamStore()
	if team == nil || err != nil || !release.ValidID(id) {
		return err
	}
	local := e.store()
	if _, err := local.Get(env, id); err == nil {
		return nil
	}
	if _, err := team.Get(env, id); errors.Is(err, release.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("team store %s: %w", team.Root, err)
	}
	n, err := team.CopyRelease(local, env, id)
	if err != nil {
		return fmt.Errorf("copy release %s of %s from the team store %s: %w", id, env, team.Root, err)
	}
	e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("%s %s is not in the local store: taken from the team store %s (%d objects)", env, id, team.Root, n)})
	if err := readable(local, env, id); err != nil {
		return fmt.Errorf("%w: release %s of %s from the team store %s: %v; its private files and secrets are encrypted to the team's age identity: use that identity (%s)",
			ErrConfig, id, env, team.Root, err, release.IdentityEnv)
	}
	return nil
}

// readable checks that this pusher's identity decrypts the release's
// secrets and private content, before anything is changed on a host.
func readable(st *release.Store, env, id string) error {
	if _, err := st.Secrets(env, id); err != nil {
		return err
	}
	m, err := st.Manifest(env, id)
	if err != nil {
		return err
	}
	for _, en := range m.Entries {
		if en.Kind != release.KindPrivate {
			continue
		}
		r, err := st.Open(en.Hash)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r)
		r.Close()
		return err
	}
	return nil
}

// teamLatest is the highest release number of env in the team's store (0
// without one): a release recorded there but on no host is not reused.
func (e *Engine) teamLatest(env string) int {
	team, err := e.teamStore()
	if team == nil || err != nil {
		return 0
	}
	return team.Latest(env)
}
