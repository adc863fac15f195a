package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// sshEnv appends an environment "fleet" of the fleet's hosts to the
// project's plat.hcl: each host has its own deploy root and app port
// (they share this machine's network), reached through the fleet's
// ssh_config aliases with strict known_hosts checking.
func (p *project) sshEnv(f *sshtest.Fleet, extra string) []int {
	p.t.Helper()
	ports := freePorts(p.t, len(f.Hosts))
	return p.sshEnvOn(f, ports, func(h *sshtest.Host) string { return h.Root }, extra)
}

// sshEnvOn is sshEnv with the app ports starting at ports and each host's
// deploy_to from root (two apps sharing a fleet).
func (p *project) sshEnvOn(f *sshtest.Fleet, ports int, root func(h *sshtest.Host) string, extra string) []int {
	p.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "\nenvironment \"fleet\" {\n  provider \"ssh\" {\n    ssh_config  = %q\n    known_hosts = %q\n  }\n", f.SSHConfig, f.KnownHosts)
	// One database for the fleet, as web servers share a database server.
	fmt.Fprintf(&b, "  env = {\n    NOTES_DB = %q\n  }\n  private = \"../notes-private/local\"\n", filepath.Join(p.root, "fleet.sqlite3"))
	b.WriteString("  cluster \"web\" {\n    hosts = [")
	for i, h := range f.Hosts {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", h.Name)
	}
	b.WriteString("]\n")
	out := make([]int, len(f.Hosts))
	for i, h := range f.Hosts {
		out[i] = ports + i
		fmt.Fprintf(&b, "    host %q {\n      deploy_to = %q\n      port = %d\n    }\n", h.Name, root(h), ports+i)
	}
	b.WriteString("  }\n" + extra + "}\n")
	hcl := filepath.Join(p.dir, "plat.hcl")
	orig, err := os.ReadFile(hcl)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(hcl, append(orig, b.String()...), 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "fleet environment")
	return out
}

func getPort(t *testing.T, port int, path string) (string, error) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

// serves asserts every port serves a page containing want.
func serves(t *testing.T, ports []int, want string) {
	t.Helper()
	for i, port := range ports {
		body, err := getPort(t, port, "/")
		if err != nil || !strings.Contains(body, want) {
			t.Fatalf("host %d (port %d) does not serve %q: %v\n%s", i+1, port, want, err, body)
		}
	}
}

// events parses --json output.
func events(t *testing.T, out string) []platform.Event {
	t.Helper()
	var evs []platform.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e platform.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err == nil {
			evs = append(evs, e)
		}
	}
	return evs
}

// uploadMessages returns each host's upload step message.
func uploadMessages(evs []platform.Event) map[string]string {
	m := map[string]string{}
	for _, e := range evs {
		if e.Type == platform.EventStepStart && strings.HasPrefix(e.Step, "upload ") {
			m[e.Host] = e.Message
		}
	}
	return m
}

// sentBytes returns the compressed bytes streamed to each host.
func sentBytes(evs []platform.Event) map[string]int64 {
	m := map[string]int64{}
	for _, e := range evs {
		if e.Type == platform.EventProgress && e.WireBytes > m[e.Host] {
			m[e.Host] = e.WireBytes
		}
	}
	return m
}

func TestPushSSHFleet(t *testing.T) {
	fleet := sshtest.New(t, 5)
	p := newProject(t)
	ports := p.sshEnv(fleet, "")
	t.Cleanup(func() { p.plat("down", "fleet") })

	r := p.mustPlat("push", "fleet")
	serves(t, ports, "release r1")
	if !strings.Contains(r.stdout, "[host5] finished: upload r1") {
		t.Errorf("push output:\n%s", r.stdout)
	}
	for _, h := range fleet.Hosts {
		cur, err := os.Readlink(filepath.Join(h.Root, "current"))
		if err != nil || cur != "releases/r1" {
			t.Fatalf("%s current -> %q (%v)", h.Name, cur, err)
		}
		st, err := os.Stat(filepath.Join(h.Root, "releases", "r1", "settings.json"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s settings.json: %v %v", h.Name, err, st)
		}
	}

	t.Run("three files changed: only they are sent", func(t *testing.T) {
		big := strings.Repeat("incompressible? no, but large enough to notice\n", 20000) // ~940 KB
		if err := os.WriteFile(filepath.Join(p.dir, "big.txt"), []byte(big), 0o644); err != nil {
			t.Fatal(err)
		}
		p.git("add", "big.txt")
		p.git("commit", "-q", "-m", "big")
		p.mustPlat("push", "fleet")
		if err := os.WriteFile(filepath.Join(p.dir, "VERSION"), []byte("3.0.0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p.dir, "templates", "index.html"), []byte("<h1>{{greeting}} v{{version}}</h1><p>release {{release}}</p><ul>{{notes}}</ul>\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p.dir, "assets", "base.css"), []byte("body { color: black; }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p.git("commit", "-q", "-am", "three files")
		r := p.mustPlat("--json", "push", "fleet")
		evs := events(t, r.stdout)
		msgs, sent := uploadMessages(evs), sentBytes(evs)
		for _, h := range fleet.Hosts {
			// VERSION, index.html, base.css, the compiled static/app.css and
			// REVISION (the commit) change; big.txt does not cross the wire.
			if !strings.HasPrefix(msgs[h.Name], "5 files changed") {
				t.Errorf("%s upload: %q, want 5 files changed", h.Name, msgs[h.Name])
			}
			if sent[h.Name] == 0 || sent[h.Name] > 16*1024 {
				t.Errorf("%s: %d bytes streamed, want a few KiB (the changed files compressed)", h.Name, sent[h.Name])
			}
		}
		serves(t, ports, "v3.0.0")
	})

	t.Run("no-op push sends no file content", func(t *testing.T) {
		r := p.mustPlat("push", "fleet")
		if !strings.Contains(r.stdout, "nothing to push") {
			t.Errorf("push of the same commit:\n%s", r.stdout)
		}
		r = p.mustPlat("--json", "push", "fleet", "--force")
		for h, m := range uploadMessages(events(t, r.stdout)) {
			if !strings.HasPrefix(m, "0 files changed, 0 B") {
				t.Errorf("%s: forced no-op upload: %q", h, m)
			}
		}
	})

	t.Run("rollback", func(t *testing.T) {
		p.mustPlat("rollback", "fleet")
		serves(t, ports, "v3.0.0") // the forced push made r5 with the same content; back to r4
		p.mustPlat("rollback", "fleet", "r1")
		serves(t, ports, "release r1")
	})

	t.Run("drift", func(t *testing.T) {
		h := fleet.Hosts[2]
		if err := os.WriteFile(filepath.Join(h.Root, "current", "VERSION"), []byte("tampered\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(h.Root, "current", "migrate.py"))
		os.WriteFile(filepath.Join(h.Root, "current", "extra.txt"), []byte("x"), 0o644)
		r := p.plat("status", "fleet", "--verify")
		if r.code != 1 {
			t.Fatalf("status --verify with drift: %s", r)
		}
		for _, want := range []string{"host3: drift in r1", "changed  VERSION", "missing  migrate.py", "extra    extra.txt", "host1: r1 verified, no drift"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("status --verify lacks %q:\n%s", want, r.stdout)
			}
		}
	})

	t.Run("prune keeps five, never current or previous", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			p.write("VERSION", fmt.Sprintf("4.%d.0\n", i))
			p.mustPlat("push", "fleet")
		}
		ents, _ := os.ReadDir(filepath.Join(fleet.Hosts[0].Root, "releases"))
		var ids []string
		for _, e := range ents {
			ids = append(ids, e.Name())
		}
		if len(ids) != 5 {
			t.Errorf("releases on host1: %v, want 5", ids)
		}
		// r1 was pruned on the hosts: a rollback to it uploads it again
		// from the local store, private settings included.
		if _, err := os.Stat(filepath.Join(fleet.Hosts[0].Root, "releases", "r1")); err == nil {
			t.Fatal("r1 was not pruned")
		}
		r := p.mustPlat("--json", "rollback", "fleet", "r1")
		if msgs := uploadMessages(events(t, r.stdout)); len(msgs) != len(fleet.Hosts) {
			t.Errorf("rollback to a pruned release uploaded to %d hosts, want %d", len(msgs), len(fleet.Hosts))
		}
		serves(t, ports, "release r1")
		st, err := os.Stat(filepath.Join(fleet.Hosts[0].Root, "releases", "r1", "settings.json"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("r1 settings.json after re-upload: %v %v", err, st)
		}
	})

	t.Run("concurrent pushes: one gets exit 3 naming the holder", func(t *testing.T) {
		hcl := filepath.Join(p.dir, "plat.hcl")
		orig, _ := os.ReadFile(hcl)
		slow := strings.Replace(string(orig), `run  = ["python3", "build_assets.py"]`, `run  = ["sh", "-c", "sleep 3 && python3 build_assets.py"]`, 1)
		os.WriteFile(hcl, []byte(slow), 0o644)
		p.git("commit", "-q", "-am", "slow build")
		defer func() { os.WriteFile(hcl, orig, 0o644); p.git("commit", "-q", "-am", "fast build") }()
		first := exec.Command(platBin, "-C", p.dir, "push", "fleet", "-m", "the first push")
		var out strings.Builder
		first.Stdout, first.Stderr = &out, &out
		if err := first.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		r := p.plat("push", "fleet")
		if err := first.Wait(); err != nil {
			t.Fatalf("first push: %v\n%s", err, out.String())
		}
		if r.code != 3 || !strings.Contains(r.stderr, "is locked by") || !strings.Contains(r.stderr, "the first push") {
			t.Fatalf("second push: %s", r)
		}
		lk := p.mustPlat("lock", "fleet")
		if !strings.Contains(lk.stdout, "not locked") {
			t.Errorf("lock after both pushes:\n%s", lk.stdout)
		}
	})

	t.Run("a stale lock expires", func(t *testing.T) {
		for _, h := range fleet.Hosts {
			d := filepath.Join(h.Root, ".plat", "lock")
			os.MkdirAll(d, 0o755)
			info := fmt.Sprintf("owner=ghost@gone\nsince=%d\ncommand=push\nmessage=\nexpires=%d\ntoken=dead\n", time.Now().Add(-time.Hour).Unix(), time.Now().Add(-time.Minute).Unix())
			os.WriteFile(filepath.Join(d, "info"), []byte(info), 0o644)
		}
		lk := p.mustPlat("lock", "fleet")
		if !strings.Contains(lk.stdout, "ghost@gone") || !strings.Contains(lk.stdout, "expired") {
			t.Errorf("lock status:\n%s", lk.stdout)
		}
		p.write("VERSION", "5.0.0\n")
		r := p.mustPlat("push", "fleet")
		if !strings.Contains(r.stdout, "took over an expired lock") {
			t.Errorf("push over a stale lock:\n%s", r.stdout)
		}
	})

	t.Run("lock break is recorded", func(t *testing.T) {
		for _, h := range fleet.Hosts {
			d := filepath.Join(h.Root, ".plat", "lock")
			os.MkdirAll(d, 0o755)
			os.WriteFile(filepath.Join(d, "info"), []byte(fmt.Sprintf("owner=bob@laptop\nsince=%d\nexpires=%d\ntoken=x\n", time.Now().Unix(), time.Now().Add(time.Hour).Unix())), 0o644)
		}
		r := p.plat("push", "fleet", "--force")
		if r.code != 3 || !strings.Contains(r.stderr, "bob@laptop") {
			t.Fatalf("push while locked: %s", r)
		}
		p.mustPlat("lock", "fleet", "break")
		log, _ := os.ReadFile(filepath.Join(fleet.Hosts[0].Root, "revisions.log"))
		if !strings.Contains(string(log), "broke the deploy lock held by bob@laptop") {
			t.Errorf("revisions.log:\n%s", log)
		}
	})

	t.Run("two pushers with separate .plat share one history", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "notes")
		if out, err := exec.Command("git", "clone", "-q", p.dir, other).CombinedOutput(); err != nil {
			t.Fatalf("clone: %v\n%s", err, out)
		}
		exec.Command("cp", "-r", filepath.Join(p.root, "notes-private"), filepath.Dir(other)).Run()
		q := &project{t: t, root: filepath.Dir(other), dir: other, port: p.port}
		q.write("VERSION", "6.0.0-from-q\n")
		rq := q.mustPlat("push", "fleet")
		p.write("VERSION", "6.1.0-from-p\n")
		rp := p.mustPlat("push", "fleet")
		idq, idp := releaseOf(rq.stdout), releaseOf(rp.stdout)
		if idq == "" || idp == "" || idq == idp {
			t.Fatalf("release ids: q %q, p %q", idq, idp)
		}
		hq, hp := q.mustPlat("releases", "fleet").stdout, p.mustPlat("releases", "fleet").stdout
		for _, h := range []string{hq, hp} {
			if !strings.Contains(h, idq) || !strings.Contains(h, idp+" *") {
				t.Errorf("history lacks %s or %s:\n%s", idq, idp, h)
			}
		}
		serves(t, ports, "6.1.0-from-p")
	})
}

// releaseOf returns the release of a push's summary table.
func releaseOf(out string) string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 4 && f[3] == "ok" && strings.HasPrefix(f[1], "r") {
			return f[1]
		}
	}
	return ""
}

// pushWatching runs `plat --json push fleet` and calls on for every event
// as it streams; it returns the exit code and stderr.
func (p *project) pushWatching(on func(cmd *exec.Cmd, e platform.Event)) (int, string) {
	p.t.Helper()
	cmd := exec.Command(platBin, "-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port), "--json", "push", "fleet")
	cmd.Env = append(os.Environ(), "CI=true")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e platform.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			on(cmd, e)
		}
	}
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return code, stderr.String()
}

// addBigFile commits size bytes of incompressible content.
func (p *project) addBigFile(name string, size int) {
	p.t.Helper()
	f, err := os.Open("/dev/urandom")
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, name), b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.git("add", name)
	p.git("commit", "-q", "-m", "add "+name)
}

// currents returns every host's current release.
func currents(t *testing.T, f *sshtest.Fleet) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, h := range f.Hosts {
		cur, _ := os.Readlink(filepath.Join(h.Root, "current"))
		m[h.Name] = strings.TrimPrefix(cur, "releases/")
	}
	return m
}

func assertAllOn(t *testing.T, f *sshtest.Fleet, id string) {
	t.Helper()
	for h, cur := range currents(t, f) {
		if cur != id {
			t.Errorf("%s current = %q, want %s", h, cur, id)
		}
	}
}

func assertUnlocked(t *testing.T, f *sshtest.Fleet) {
	t.Helper()
	for _, h := range f.Hosts {
		if _, err := os.Stat(filepath.Join(h.Root, ".plat", "lock")); err == nil {
			t.Errorf("%s is still locked", h.Name)
		}
	}
}

func TestSSHFaults(t *testing.T) {
	fleet := sshtest.New(t, 3)
	p := newProject(t)
	ports := p.sshEnv(fleet, "")
	t.Cleanup(func() { p.plat("down", "fleet") })
	p.mustPlat("push", "fleet")
	serves(t, ports, "release r1")

	t.Run("sshd killed during upload", func(t *testing.T) {
		p.addBigFile("blob.bin", 48<<20)
		victim := fleet.Hosts[1]
		code, stderr := p.pushWatching(func(cmd *exec.Cmd, e platform.Event) {
			if e.Type == platform.EventStepStart && e.Host == victim.Name && strings.HasPrefix(e.Step, "upload") {
				if err := victim.Stop(); err != nil {
					t.Errorf("stop sshd: %v", err)
				}
			}
		})
		if code != 1 || !strings.Contains(stderr, victim.Name) || !strings.Contains(stderr, "upload") || !strings.Contains(stderr, "no host was switched") {
			t.Fatalf("push with a host dying: exit %d\n%s", code, stderr)
		}
		assertAllOn(t, fleet, "r1")
		serves(t, ports[:1], "release r1")
		for _, h := range fleet.Hosts {
			if _, err := os.Stat(filepath.Join(h.Root, ".plat", "lock")); err == nil && h != victim {
				t.Errorf("%s is still locked", h.Name)
			}
		}
		if err := victim.Start(); err != nil {
			t.Fatal(err)
		}
		// The dead host still holds the failed push's lock; the next push
		// from this machine sees its holder is gone and takes it over.
		r := p.mustPlat("push", "fleet")
		if !strings.Contains(r.stdout, "taking over the lock left by a push that died") {
			t.Errorf("next push:\n%s", r.stdout)
		}
		id := releaseOf(r.stdout)
		assertAllOn(t, fleet, id)
		serves(t, ports, "release "+id)
	})

	t.Run("SIGINT during upload", func(t *testing.T) {
		before := currents(t, fleet)[fleet.Hosts[0].Name]
		p.addBigFile("blob3.bin", 48<<20)
		sent := false
		code, stderr := p.pushWatching(func(cmd *exec.Cmd, e platform.Event) {
			if !sent && e.Type == platform.EventStepStart && strings.HasPrefix(e.Step, "upload") {
				sent = true
				cmd.Process.Signal(os.Interrupt)
			}
		})
		if code == 0 {
			t.Fatalf("interrupted push exited 0:\n%s", stderr)
		}
		assertAllOn(t, fleet, before)
		assertUnlocked(t, fleet)
		serves(t, ports, "release "+before)
	})
	t.Run("deploy root on a full tmpfs", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("mounting a tmpfs needs root")
		}
		victim := fleet.Hosts[2]
		before := currents(t, fleet)[victim.Name]
		// Move the host's deploy root onto a tmpfs just big enough for
		// what it has.
		data := t.TempDir()
		if out, err := exec.Command("cp", "-a", victim.Root+"/.", data).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", victim.Root).CombinedOutput(); err != nil {
			t.Skipf("cannot mount tmpfs here: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", "-l", victim.Root).Run() })
		if out, err := exec.Command("cp", "-a", data+"/.", victim.Root).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		exec.Command("mount", "-o", "remount,size=60m", victim.Root).Run()
		p.addBigFile("blob2.bin", 40<<20)
		r := p.plat("push", "fleet")
		if r.code != 1 || !strings.Contains(r.stderr, victim.Name) || !strings.Contains(r.stderr, "No space left") {
			t.Fatalf("push to a full host: %s", r)
		}
		after := currents(t, fleet)
		for h, cur := range after {
			if h == victim.Name && cur != before {
				t.Errorf("%s switched to %s", h, cur)
			}
		}
		assertUnlocked(t, fleet)
		serves(t, ports, "release "+before)
		if out, err := exec.Command("mount", "-o", "remount,size=512m", victim.Root).CombinedOutput(); err != nil {
			t.Fatalf("grow tmpfs: %v %s", err, out)
		}
		r = p.mustPlat("push", "fleet")
		assertAllOn(t, fleet, releaseOf(r.stdout))
	})

}
