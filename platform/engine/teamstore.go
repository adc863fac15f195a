package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
	"github.com/plat-sh/plat/platform/release"
)

// The team's store (plat.hcl `store`) has the layout of the local store,
// in a directory every pusher reaches: a shared mount, or a directory on
// a host reached as the environment's hosts are (store { host = … }).
// Each push copies its release there after recording it locally
// (teamPut); a rollback, promote or diff that needs a release the local
// store lacks copies it from there first (teamFetch), so the rest of the
// engine reads only the local store. Private content and secret values
// stay age-encrypted on the way and there: the team shares the age
// identity, as it already does for comparable secret digests. Hosts still
// hold the truth for history; the stores hold the build output that lets
// any pusher upload a release again.

// teamBackend is where the team's store lives.
type teamBackend interface {
	where() string
	// put copies release env/id from local; it returns the objects sent.
	put(ctx context.Context, local *release.Store, env, id string) (int, error)
	// fetch copies env/id into local; false when the team store lacks it.
	fetch(ctx context.Context, local *release.Store, env, id string) (bool, int, error)
	latest(ctx context.Context, env string) (int, error)
	close()
}

// teamStore opens the team's store for a command on env; nil when plat.hcl
// names none.
func (e *Engine) teamStore(ctx context.Context, env string) (teamBackend, error) {
	if e.Project == nil || e.Project.Store == nil {
		return nil, nil
	}
	cfg := e.Project.Store
	if cfg.Host != "" {
		return e.hostStore(ctx, cfg, env)
	}
	root := cfg.Path
	if rest, ok := strings.CutPrefix(root, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("team store %s: %w", root, err)
		}
		root = filepath.Join(home, rest)
	}
	return dirStore{&release.Store{Root: root, Keys: e.store().Keys}}, nil
}

// teamPut copies a release just recorded in the local store to the team's.
func (e *Engine) teamPut(ctx context.Context, env, id string) error {
	team, err := e.teamStore(ctx, env)
	if team == nil || err != nil {
		return err
	}
	defer team.close()
	start := e.startStep("localhost", "team store", fmt.Sprintf("%s %s to %s", env, id, team.where()))
	n, err := team.put(ctx, e.store(), env, id)
	if err == nil {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("team store: %d new objects", n)})
	}
	e.endStep("localhost", "team store", start, err)
	if err != nil {
		return fmt.Errorf("copy release %s to the team store %s (nothing was uploaded): %w", id, team.where(), err)
	}
	return nil
}

// teamFetch copies env/id from the team's store into the local one when
// the local store lacks it and the team's has it; otherwise it does
// nothing (the caller says what is missing).
func (e *Engine) teamFetch(ctx context.Context, env, id string) error {
	if e.Project == nil || e.Project.Store == nil || !release.ValidID(id) {
		return nil
	}
	local := e.store()
	if _, err := local.Get(env, id); err == nil {
		return nil
	}
	team, err := e.teamStore(ctx, env)
	if team == nil || err != nil {
		return err
	}
	defer team.close()
	found, n, err := team.fetch(ctx, local, env, id)
	if err != nil {
		return fmt.Errorf("copy release %s of %s from the team store %s: %w", id, env, team.where(), err)
	}
	if !found {
		return nil
	}
	e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: fmt.Sprintf("%s %s is not in the local store: taken from the team store %s (%d objects)", env, id, team.where(), n)})
	if err := readable(local, env, id); err != nil {
		return fmt.Errorf("%w: release %s of %s from the team store %s: %v; its private files and secrets are encrypted to the team's age identity: use that identity (%s)",
			ErrConfig, id, env, team.where(), err, release.IdentityEnv)
	}
	return nil
}

// teamLatest is the highest release number of env in the team's store (0
// without one): a release recorded there but on no host is not reused.
func (e *Engine) teamLatest(ctx context.Context, env string) int {
	team, err := e.teamStore(ctx, env)
	if team == nil || err != nil {
		return 0
	}
	defer team.close()
	n, _ := team.latest(ctx, env)
	return n
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

// dirStore is a team store in a directory this machine reaches.
type dirStore struct{ st *release.Store }

func (d dirStore) where() string { return d.st.Root }
func (d dirStore) close()        {}

func (d dirStore) put(_ context.Context, local *release.Store, env, id string) (int, error) {
	return local.CopyRelease(d.st, env, id)
}

func (d dirStore) fetch(_ context.Context, local *release.Store, env, id string) (bool, int, error) {
	if _, err := d.st.Get(env, id); errors.Is(err, release.ErrNotFound) {
		return false, 0, nil
	} else if err != nil {
		return false, 0, err
	}
	n, err := d.st.CopyRelease(local, env, id)
	return err == nil, n, err
}

func (d dirStore) latest(_ context.Context, env string) (int, error) { return d.st.Latest(env), nil }

// hostStore is a team store in a directory of a host, reached through the
// provider of the environment the store block names (default: the one the
// command works on), as that environment's hosts are.
type hostStore struct {
	t    *platform.Target
	host string
	root string
}

func (e *Engine) hostStore(ctx context.Context, cfg *platform.StoreConfig, envName string) (teamBackend, error) {
	if cfg.Environment != "" {
		envName = cfg.Environment
	}
	env, prov, err := e.environment(envName)
	if err != nil {
		return nil, fmt.Errorf("team store on %s: %w", cfg.Host, err)
	}
	if _, ok := schedulerOf(prov); ok {
		return nil, fmt.Errorf("%w: team store on %s: environment %s runs on %s, which has no hosts to reach it through: name another (store { environment = … })", ErrConfig, cfg.Host, env.Name, env.Provider.Type)
	}
	reach := *env
	reach.Clusters = []*platform.Cluster{{Name: "store", Hosts: []*platform.Host{{Name: cfg.Host, Cluster: "store", DeployTo: cfg.Path}}}}
	// The store's host is resolved as the environment's own hosts were
	// (a port, a deploy_to where the provider gives them).
	if f, ok := e.Providers[env.Provider.Type]; ok {
		platform.ResolveHosts(e.Project.App, &reach, f.Schema().Hosts)
	}
	resp, err := prov.Targets(ctx, &platform.TargetsRequest{App: e.Project.App, Env: &reach, StateDir: e.StateDir})
	if err != nil {
		return nil, fmt.Errorf("team store: connect to %s (as environment %s's hosts): %w", cfg.Host, env.Name, err)
	}
	if len(resp.Targets) != 1 {
		for _, t := range resp.Targets {
			_ = t.Transport.Close()
		}
		return nil, fmt.Errorf("team store: the %s provider returned %d targets for %s", env.Provider.Type, len(resp.Targets), cfg.Host)
	}
	return &hostStore{t: resp.Targets[0], host: cfg.Host, root: cfg.Path}, nil
}

func (h *hostStore) where() string { return h.host + ":" + h.root }
func (h *hostStore) close()        { _ = h.t.Transport.Close() }

// cat reads a store file; nil, nil when the store lacks it.
func (h *hostStore) cat(ctx context.Context, rel string) ([]byte, error) {
	out, err := run(ctx, h.t, hostcmd.StoreCat(h.root, rel))
	if platform.ExitCode(err) == hostcmd.ExitStoreMissing {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

func (h *hostStore) release(ctx context.Context, env, id string) (*release.Release, error) {
	b, err := h.cat(ctx, "envs/"+env+"/"+id+".json")
	if b == nil || err != nil {
		return nil, err
	}
	var r release.Release
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("envs/%s/%s.json: %w", env, id, err)
	}
	return &r, nil
}

func (h *hostStore) put(ctx context.Context, local *release.Store, env, id string) (int, error) {
	rel, err := local.Get(env, id)
	if err != nil {
		return 0, err
	}
	if old, err := h.release(ctx, env, id); err != nil {
		return 0, err
	} else if old != nil {
		if old.ManifestHash != rel.ManifestHash {
			return 0, fmt.Errorf("it holds another release %s/%s: releases are immutable", env, id)
		}
		return 0, nil
	}
	files, err := local.ReleaseFiles(env, id)
	if err != nil {
		return 0, err
	}
	var lacks bytes.Buffer
	have := hostcmd.StoreHave(h.root)
	have.Stdin = strings.NewReader(strings.Join(files, "\n") + "\n")
	have.Stdout = &lacks
	if _, err := run(ctx, h.t, have); err != nil {
		return 0, err
	}
	missing := map[string]bool{}
	for _, f := range strings.Split(lacks.String(), "\n") {
		missing[f] = true
	}
	pr, pw := io.Pipe()
	sent := 0
	go func() {
		tw := tar.NewWriter(pw)
		for _, f := range files {
			if !missing[f] {
				continue
			}
			if err := addFile(tw, local.Root, f); err != nil {
				pw.CloseWithError(err)
				return
			}
			if strings.HasPrefix(f, "objects/") {
				sent++
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	put := hostcmd.StorePut(h.root)
	put.Stdin = pr
	_, err = run(ctx, h.t, put)
	pr.CloseWithError(io.ErrClosedPipe)
	return sent, err
}

func addFile(tw *tar.Writer, root, rel string) error {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o600, Size: st.Size(), Typeflag: tar.TypeReg, ModTime: st.ModTime()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func (h *hostStore) fetch(ctx context.Context, local *release.Store, env, id string) (bool, int, error) {
	rel, err := h.release(ctx, env, id)
	if rel == nil || err != nil {
		return false, 0, err
	}
	b, err := h.cat(ctx, "envs/"+env+"/"+id+".manifest")
	if err != nil {
		return false, 0, err
	}
	if b == nil {
		return false, 0, fmt.Errorf("envs/%s/%s.json has no manifest beside it", env, id)
	}
	m, err := release.Parse(bytes.NewReader(b))
	if err != nil {
		return false, 0, err
	}
	if m.Hash() != rel.ManifestHash {
		return false, 0, fmt.Errorf("the manifest of %s/%s does not match its metadata", env, id)
	}
	want := append(local.ObjectFiles(m), "envs/"+env+"/"+id+".secrets.age")
	asked := map[string]bool{}
	for _, f := range want {
		asked[f] = true
	}
	var out bytes.Buffer
	get := hostcmd.StoreGet(h.root)
	get.Stdin = strings.NewReader(strings.Join(want, "\n") + "\n")
	get.Stdout = &out
	if _, err := run(ctx, h.t, get); err != nil {
		return false, 0, err
	}
	n := 0
	tr := tar.NewReader(&out)
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, n, err
		}
		if !asked[hd.Name] || hd.Typeflag != tar.TypeReg {
			return false, n, fmt.Errorf("the store sent %q, which plat did not ask for", hd.Name)
		}
		if err := local.Import(hd.Name, tr); err != nil {
			return false, n, err
		}
		if strings.HasPrefix(hd.Name, "objects/") {
			n++
		}
	}
	for _, en := range m.Entries {
		if en.Kind != release.KindDir && !local.HasObject(en.Hash) {
			return false, n, fmt.Errorf("it lacks the content of %s", en.Path)
		}
	}
	// The metadata last: a release is in the local store only whole.
	if err := local.Import("envs/"+env+"/"+id+".manifest", bytes.NewReader(b)); err != nil {
		return false, n, err
	}
	meta, _ := json.MarshalIndent(rel, "", "  ")
	return true, n, local.Import("envs/"+env+"/"+id+".json", bytes.NewReader(append(meta, '\n')))
}

func (h *hostStore) latest(ctx context.Context, env string) (int, error) {
	out, err := run(ctx, h.t, hostcmd.StoreList(h.root, env))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range strings.Fields(out) {
		n = max(n, release.Num(id))
	}
	return n, nil
}
