package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// clone is a fresh clone of p's repository, with the private settings
// beside it as on another pusher's machine, and an empty .plat.
func (p *project) clone(t *testing.T) *project {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "notes")
	if out, err := exec.Command("git", "clone", "-q", p.dir, dir).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	if out, err := exec.Command("cp", "-r", filepath.Join(p.root, "notes-private"), root).CombinedOutput(); err != nil {
		t.Fatalf("copy private settings: %v\n%s", err, out)
	}
	return &project{t: t, root: root, dir: dir, port: p.port, env: p.env}
}

// Releases pushed from one clone roll back from another whose local store
// is empty: the hosts keep one release besides current and previous, the
// team store the rest. The team store is a directory this machine
// reaches, or one on a host reached over ssh as the fleet's hosts are.
func TestTeamStoreRollbackFromAFreshClone(t *testing.T) {
	for _, tc := range []struct {
		name, host string
	}{
		{name: "a directory"},
		{name: "on a host", host: "host1"},
	} {
		t.Run(tc.name, func(t *testing.T) { teamStoreFromAFreshClone(t, tc.host) })
	}
}

func teamStoreFromAFreshClone(t *testing.T, host string) {
	fleet := sshtest.New(t, 2)
	a := newProject(t)
	team := filepath.Join(t.TempDir(), "team-store")
	hcl := filepath.Join(a.dir, "plat.hcl")
	b, err := os.ReadFile(hcl)
	if err != nil {
		t.Fatal(err)
	}
	block := "\nstore {\n  path = \"" + team + "\"\n}\n"
	if host != "" {
		block = "\nstore {\n  host = \"" + host + "\"\n  path = \"" + team + "\"\n}\n"
	}
	if err := os.WriteFile(hcl, append(b, block...), 0o644); err != nil {
		t.Fatal(err)
	}
	a.git("commit", "-q", "-am", "team store")
	ports := a.sshEnv(fleet, "  keep_releases = 1\n")
	t.Cleanup(func() { a.plat("down", "fleet") })

	r := a.mustPlat("push", "fleet")
	where := team
	if host != "" {
		where = host + ":" + team
	}
	if !strings.Contains(r.stdout, "running: team store (fleet r1 to "+where+")") {
		t.Errorf("push does not say it wrote the team store %s:\n%s", where, r.stdout)
	}
	for _, v := range []string{"2.0.0", "3.0.0"} {
		a.write("VERSION", v+"\n")
		a.mustPlat("push", "fleet")
	}
	serves(t, ports, "release r3")
	for _, h := range fleet.Hosts {
		if _, err := os.Stat(filepath.Join(h.Root, "releases", "r1")); err == nil {
			t.Fatalf("%s still has r1: keep_releases did not prune it", h.Name)
		}
	}
	// The team store has every release; nothing private is in it in plain.
	for _, id := range []string{"r1", "r2", "r3"} {
		for _, f := range []string{id + ".json", id + ".manifest"} {
			if _, err := os.Stat(filepath.Join(team, "envs", "fleet", f)); err != nil {
				t.Errorf("team store: %v", err)
			}
		}
	}
	secret, err := os.ReadFile(filepath.Join(a.root, "notes-private", "local", "settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	filepath.Walk(team, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", path, info.Mode())
		}
		if b, _ := os.ReadFile(path); strings.Contains(string(b), "local-not-so-secret") || string(b) == string(secret) {
			t.Errorf("%s holds the private settings in plain", path)
		}
		return nil
	})

	// A fresh clone: its local store is empty. It shares the age identity
	// (PLAT_AGE_IDENTITY, set in TestMain) as a team shares it.
	fresh := a.clone(t)
	if _, err := os.Stat(filepath.Join(fresh.dir, ".plat", "store")); err == nil {
		t.Fatal("the fresh clone has a local store")
	}
	r = fresh.mustPlat("rollback", "fleet", "r1")
	if !strings.Contains(r.stdout, "taken from the team store "+where) {
		t.Errorf("rollback does not say where r1 came from:\n%s", r.stdout)
	}
	serves(t, ports, "release r1")
	serves(t, ports, "notes 1.0.0")
	for _, h := range fleet.Hosts {
		if st, err := os.Stat(filepath.Join(h.Root, "releases", "r1", "settings.json")); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: r1's private settings after the rollback: %v", h.Name, err)
		}
	}
	// Back to r3 from the fresh clone too, and a push from it takes r4.
	fresh.mustPlat("rollback", "fleet", "r3")
	serves(t, ports, "release r3")
	fresh.write("VERSION", "4.0.0\n")
	fresh.mustPlat("push", "fleet")
	serves(t, ports, "release r4")
	if _, err := os.Stat(filepath.Join(team, "envs", "fleet", "r4.json")); err != nil {
		t.Errorf("the fresh clone's push is not in the team store: %v", err)
	}

	// The fresh clone diffs and promotes releases it never pushed: r2 is
	// in neither its store nor on the hosts.
	if d := fresh.mustPlat("diff", "fleet", "r1", "r2"); !strings.Contains(d.stdout, "~ VERSION") {
		t.Errorf("diff r1 r2 from the fresh clone:\n%s", d.stdout)
	}
	t.Cleanup(func() { fresh.plat("down", "local") })
	fresh.mustPlat("promote", "fleet", "local", "r2")
	for i := 0; i < 2; i++ {
		if body := fresh.get(i, "/"); !strings.Contains(body, "notes 2.0.0") || !strings.Contains(body, "release r1") {
			t.Errorf("local web%d after promoting fleet r2:\n%s", i+1, body)
		}
	}

	// A pusher with another age identity cannot read the private files:
	// refused before any host changes.
	stranger := a.clone(t)
	stranger.env = append(stranger.env, "PLAT_AGE_IDENTITY="+filepath.Join(t.TempDir(), "identity"))
	if r := stranger.plat("rollback", "fleet", "r2"); r.code != 2 || !strings.Contains(r.stderr, "age identity") || !strings.Contains(r.stderr, "PLAT_AGE_IDENTITY") {
		t.Errorf("rollback with another age identity: want exit 2 naming the identity, got %s", r)
	}
	serves(t, ports, "release r4")

	// Without the team store, the same rollback fails as before.
	bare := a.clone(t)
	hclB := filepath.Join(bare.dir, "plat.hcl")
	b, _ = os.ReadFile(hclB)
	os.WriteFile(hclB, []byte(strings.Replace(string(b), block, "\n", 1)), 0o644)
	bare.git("commit", "-q", "-am", "no team store")
	if r := bare.plat("rollback", "fleet", "r1"); r.code == 0 || !strings.Contains(r.stderr, "not in the local store") {
		t.Errorf("rollback to a pruned release without a team store: %s", r)
	}
}
