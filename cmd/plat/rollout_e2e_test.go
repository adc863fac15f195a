package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
)

// The rollout tests run the notes example on six local hosts and judge
// every outcome from what each host serves over HTTP (and where its
// current symlink points).

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

const fleetSize = 6

var fleetHosts = []string{"web1", "web2", "web3", "web4", "web5", "web6"}

// newFleet is the notes project with its local environment grown to six
// hosts, the given rollout block body and extra environment blocks
// (hooks), and a fast health check (every 100ms, up to 40 tries: a
// loaded machine may take seconds to start Python).
func newFleet(t *testing.T, rollout, extra string) *project {
	t.Helper()
	p := newProject(t)
	p.port = freePorts(t, fleetSize)
	hcl := filepath.Join(p.dir, "plat.hcl")
	b, err := os.ReadFile(hcl)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	oldCluster := "  cluster \"web\" {\n    count = 2\n  }\n}\n"
	newCluster := fmt.Sprintf("  cluster \"web\" {\n    count = %d\n  }\n  rollout {\n%s\n  }\n%s}\n", fleetSize, rollout, extra)
	oldHealth := "interval = \"250ms\"\n    retries  = 20"
	if !strings.Contains(s, oldCluster) || !strings.Contains(s, oldHealth) {
		t.Fatalf("examples/notes/plat.hcl changed; update newFleet:\n%s", s)
	}
	s = strings.Replace(s, oldCluster, newCluster, 1)
	s = strings.Replace(s, oldHealth, "interval = \"100ms\"\n    retries  = 40", 1)
	if err := os.WriteFile(hcl, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "six hosts")
	return p
}

// sickWhile makes the next release's /healthz answer 503 on the given
// hosts while marker exists, and bumps VERSION to 2.0.0 so the new release
// is visible on the index page.
func (p *project) sickWhile(marker string, hosts ...string) {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "app.py"))
	if err != nil {
		p.t.Fatal(err)
	}
	var quoted []string
	for _, h := range hosts {
		quoted = append(quoted, fmt.Sprintf("%q", h))
	}
	old := `            return self.send(200, "text/plain", b"ok\n")`
	sick := fmt.Sprintf("            if os.environ.get(\"PLAT_HOST\") in [%s] and os.path.exists(%q):\n"+
		"                return self.send(503, \"text/plain\", b\"sick\\n\")\n", strings.Join(quoted, ", "), marker)
	if !strings.Contains(string(b), old) {
		p.t.Fatal("examples/notes/app.py changed; update sickWhile")
	}
	if err := os.WriteFile(filepath.Join(p.dir, "app.py"), []byte(strings.Replace(string(b), old, sick+old, 1)), 0o644); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "VERSION"), []byte("2.0.0\n"), 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "sick health check, version 2")
}

// touch creates an empty file and returns its path.
func touch(t *testing.T, path string) string {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// current returns where host's current symlink points ("" if nowhere).
func (p *project) current(host string) string {
	cur, _ := os.Readlink(filepath.Join(p.hostDir(host), "current"))
	return strings.TrimPrefix(cur, "releases/")
}

// releasesOn lists the release dirs on host.
func (p *project) releasesOn(host string) []string {
	ents, _ := os.ReadDir(filepath.Join(p.hostDir(host), "releases"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// expectFleet asserts each host's current release and the version and
// release its index page shows; want maps host -> "rN version".
func (p *project) expectFleet(want map[string]string) {
	p.t.Helper()
	for i, h := range fleetHosts {
		w, ok := want[h]
		if !ok {
			continue
		}
		rel, version, _ := strings.Cut(w, " ")
		if cur := p.current(h); cur != rel {
			p.t.Errorf("%s: current -> %s, want %s", h, cur, rel)
		}
		body, err := getPort(p.t, p.port+i, "/")
		if err != nil {
			p.t.Errorf("%s: GET /: %v", h, err)
			continue
		}
		if !strings.Contains(body, "notes "+version) || !strings.Contains(body, "release "+rel+" on "+h) {
			p.t.Errorf("%s serves something other than %s (notes %s):\n%s", h, rel, version, body)
		}
	}
}

// all maps every host to the same expectation.
func all(w string) map[string]string {
	m := map[string]string{}
	for _, h := range fleetHosts {
		m[h] = w
	}
	return m
}

// switchedHosts returns the hosts that started a "switch <rel>" step.
func switchedHosts(evs []platform.Event, rel string) []string {
	seen := map[string]bool{}
	for _, e := range evs {
		if e.Type == platform.EventStepStart && e.Step == "switch "+rel {
			seen[e.Host] = true
		}
	}
	var out []string
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

const canaryRollout = `    stages     = [1, "50%", "100%"]
    on_failure = "rollback"`

func TestRolloutCanaryFails(t *testing.T) {
	p := newFleet(t, canaryRollout, "")
	p.mustPlat("push", "local")
	p.expectFleet(all("r1 1.0.0"))

	p.sickWhile(touch(t, filepath.Join(p.root, "sick")), "web1")
	r := p.plat("--json", "push", "local")
	if r.code != 1 {
		t.Fatalf("want exit 1 when the canary fails its health check:\n%s", r)
	}
	if !strings.Contains(r.stderr, "web1") || !strings.Contains(r.stderr, "health check failed") || !strings.Contains(r.stderr, "stage 1/3") {
		t.Errorf("the error does not name the canary, the stage and the health check:\n%s", r.stderr)
	}
	if got := switchedHosts(events(t, r.stdout), "r2"); strings.Join(got, ",") != "web1" {
		t.Errorf("hosts that switched to r2: %v, want only the canary web1", got)
	}
	p.expectFleet(all("r1 1.0.0"))
	for _, h := range fleetHosts {
		// Prepare-then-switch: every host received r2 before the canary switched.
		if rs := p.releasesOn(h); strings.Join(rs, ",") != "r1,r2" {
			t.Errorf("%s releases: %v, want [r1 r2]", h, rs)
		}
	}
}

func TestRolloutStageTwoFailsRollback(t *testing.T) {
	p := newFleet(t, canaryRollout, "")
	p.mustPlat("push", "local")
	// Stage 2 of [1, "50%", "100%"] over six hosts is web2 and web3.
	p.sickWhile(touch(t, filepath.Join(p.root, "sick")), "web3")
	r := p.plat("--json", "push", "local")
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	for _, want := range []string{"stage 2/3", "web3", "every switched host is back on its previous release"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error lacks %q:\n%s", want, r.stderr)
		}
	}
	if got := switchedHosts(events(t, r.stdout), "r2"); strings.Join(got, ",") != "web1,web2,web3" {
		t.Errorf("hosts that switched to r2: %v, want web1..web3 (stages 1 and 2)", got)
	}
	p.expectFleet(all("r1 1.0.0"))
	// A rolled-back push has nothing to resume (resuming would switch
	// only the hosts it never reached).
	if r := p.plat("push", "local", "--resume"); r.code != 2 || !strings.Contains(r.stderr, "the push of r2 was rolled back") {
		t.Errorf("want exit 2 refusing to resume a rolled-back push:\n%s", r)
	}
	p.expectFleet(all("r1 1.0.0"))
}

func TestRolloutHaltThenRollback(t *testing.T) {
	p := newFleet(t, `    stages     = [1, "50%", "100%"]
    on_failure = "halt"`, "")
	p.mustPlat("push", "local")
	p.sickWhile(touch(t, filepath.Join(p.root, "sick")), "web3")
	if r := p.plat("push", "local"); r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	p.expectFleet(map[string]string{"web1": "r2 2.0.0", "web2": "r2 2.0.0", "web3": "r1 1.0.0", "web4": "r1 1.0.0"})
	// plat rollback makes the fleet consistent again, and ends the push.
	p.mustPlat("rollback", "local")
	p.expectFleet(all("r1 1.0.0"))
	if r := p.plat("push", "local", "--resume"); r.code != 2 || !strings.Contains(r.stderr, "rolled back to r1 after the last push") {
		t.Errorf("want exit 2 refusing to resume:\n%s", r)
	}
	p.expectFleet(all("r1 1.0.0"))
}

func TestRolloutHaltThenResume(t *testing.T) {
	p := newFleet(t, `    stages     = [1, "50%", "100%"]
    on_failure = "halt"`, "")
	p.mustPlat("push", "local")
	marker := touch(t, filepath.Join(p.root, "sick"))
	p.sickWhile(marker, "web3")
	r := p.plat("push", "local")
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	for _, want := range []string{"halted: web1, web2 stay on r2", "plat push local --resume", "web3"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the report lacks %q:\n%s", want, r.stderr)
		}
	}
	p.expectFleet(map[string]string{"web1": "r2 2.0.0", "web2": "r2 2.0.0", "web3": "r1 1.0.0", "web4": "r1 1.0.0", "web5": "r1 1.0.0", "web6": "r1 1.0.0"})
	// The journal: each host's steps on the host, the push's state here.
	for h, want := range map[string]string{"web1": " r2 switched ", "web4": " r2 uploaded "} {
		j, _ := os.ReadFile(filepath.Join(p.hostDir(h), ".plat", "journal"))
		if !strings.Contains(string(j), want) {
			t.Errorf("%s journal lacks %q:\n%s", h, want, j)
		}
	}
	if j, _ := os.ReadFile(filepath.Join(p.dir, ".plat", "journal", "local.jsonl")); !strings.Contains(string(j), `"state":"halted"`) {
		t.Errorf("local journal does not record the halt:\n%s", j)
	}

	// The cause is fixed outside the release: resume pushes the same r2
	// (no rebuild) to the hosts that did not finish.
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	r = p.mustPlat("--json", "push", "local", "--resume")
	evs := events(t, r.stdout)
	if got := switchedHosts(evs, "r2"); strings.Join(got, ",") != "web3,web4,web5,web6" {
		t.Errorf("resume switched %v, want web3..web6", got)
	}
	for _, e := range evs {
		if e.Type == platform.EventStepStart && (e.Step == "build" || e.Step == "fetch") {
			t.Errorf("resume rebuilt: %+v", e)
		}
	}
	p.expectFleet(all("r2 2.0.0"))
	// The migration ran once for r2 although the push ran in two parts.
	if got := migrations(t, p); got["r1"] != 1 || got["r2"] != 1 {
		t.Errorf("migrations per release: %v, want r1:1 r2:1", got)
	}
	r = p.mustPlat("--json", "releases", "local")
	if !strings.Contains(r.stdout, `"id":"r2"`) {
		t.Fatalf("releases:\n%s", r.stdout)
	}
	p.mustPlat("releases", "local")
	rows := p.mustPlat("releases", "local").stdout
	if !regexp.MustCompile(`(?m)^r2 \*\s+deploy .* 6\s+ok$`).MatchString(rows) {
		t.Errorf("releases does not record r2 as deployed ok on 6 hosts:\n%s", rows)
	}
	for _, h := range []string{"web3"} {
		hist, _ := os.ReadFile(filepath.Join(p.hostDir(h), ".plat", "history"))
		if !strings.Contains(string(hist), `"outcome":"failed"`) || !strings.Contains(string(hist), `"release":"r2","previous":"r1"`) {
			t.Errorf("%s history lacks the failed and the resumed r2:\n%s", h, hist)
		}
	}
}

// migrations counts the rows migrate.py wrote per release into the
// hosts' shared database.
func migrations(t *testing.T, p *project) map[string]int {
	t.Helper()
	db := filepath.Join(p.dir, ".plat", "local", "local", "notes.sqlite3")
	out, err := exec.Command("python3", "-c", `import sqlite3, sys
for rel, host, n in sqlite3.connect(sys.argv[1]).execute("SELECT release, host, COUNT(*) FROM migrations GROUP BY release, host"):
    print(rel, host, n)`, db).CombinedOutput()
	if err != nil {
		t.Fatalf("read migrations: %v\n%s", err, out)
	}
	got := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		if f[1] != "web1" {
			t.Errorf("migration of %s ran on %s, want the first host web1", f[0], f[1])
		}
		var n int
		fmt.Sscan(f[2], &n)
		got[f[0]] += n
	}
	return got
}

func TestRolloutMigrationOncePerPush(t *testing.T) {
	p := newFleet(t, canaryRollout, "")
	p.mustPlat("push", "local")
	p.write("VERSION", "2.0.0\n")
	p.mustPlat("push", "local")
	p.expectFleet(all("r2 2.0.0"))
	if got := migrations(t, p); len(got) != 2 || got["r1"] != 1 || got["r2"] != 1 {
		t.Errorf("migrations per release: %v, want r1:1 r2:1", got)
	}
	// plat run runs it on demand, once, in the current release.
	p.mustPlat("run", "local", "migrate")
	if got := migrations(t, p); got["r2"] != 2 {
		t.Errorf("after plat run: migrations per release: %v, want r2:2", got)
	}
	// plat exec runs a one-off command in the current release with the
	// processes' environment, on one host or on every host of a role.
	r := p.mustPlat("exec", "local", "--host", "web4", "--", "sh", "-c", `echo "$PLAT_RELEASE $PLAT_HOST $(cat VERSION)"`)
	if r.stdout != "r2 web4 2.0.0\n" {
		t.Errorf("plat exec --host web4 printed %q", r.stdout)
	}
	r = p.mustPlat("exec", "local", "--role", "web", "--", "sh", "-c", `echo "$PLAT_HOST"`)
	for _, h := range fleetHosts {
		if !strings.Contains(r.stdout, "["+h+"] "+h+"\n") {
			t.Errorf("plat exec --role web lacks %s:\n%s", h, r.stdout)
		}
	}
}

func TestRolloutFailingTestTaskUploadsNothing(t *testing.T) {
	p := newFleet(t, canaryRollout, "")
	p.mustPlat("push", "local")
	p.write("test_app.py", "import unittest\nclass T(unittest.TestCase):\n    def test_fails(self):\n        self.fail('boom')\n")
	r := p.plat("--json", "push", "local")
	if r.code != 1 || !strings.Contains(r.stderr, "build task tests failed; nothing was uploaded") {
		t.Fatalf("want exit 1 naming the failed test task:\n%s", r)
	}
	for _, e := range events(t, r.stdout) {
		if e.Host != "localhost" && e.Host != "" {
			t.Errorf("a host was touched: %+v", e)
		}
	}
	for _, h := range fleetHosts {
		if rs := p.releasesOn(h); strings.Join(rs, ",") != "r1" {
			t.Errorf("%s releases: %v, want [r1]", h, rs)
		}
	}
	p.expectFleet(all("r1 1.0.0"))
}

func TestRolloutMaxFailuresThenResume(t *testing.T) {
	p := newFleet(t, `    stages       = [1, "50%", "100%"]
    max_failures = 1`, "")
	p.mustPlat("push", "local")
	marker := touch(t, filepath.Join(p.root, "sick"))
	p.sickWhile(marker, "web3")
	r := p.plat("push", "local")
	if r.code != 1 || !strings.Contains(r.stderr, "1 of 6 hosts failed and were switched back (max_failures = 1)") ||
		!strings.Contains(r.stderr, "web3") || !strings.Contains(r.stderr, "--resume") {
		t.Fatalf("want exit 1 naming web3, the tolerance and --resume:\n%s", r)
	}
	want := all("r2 2.0.0")
	want["web3"] = "r1 1.0.0"
	p.expectFleet(want)
	// Every host recorded the push: five deployed it, web3 failed it.
	for _, h := range fleetHosts {
		hist, _ := os.ReadFile(filepath.Join(p.hostDir(h), ".plat", "history"))
		outcome := `"outcome":"ok"`
		if h == "web3" {
			outcome = `"outcome":"failed"`
		}
		if !strings.Contains(string(hist), `"release":"r2"`) || !strings.Contains(string(hist), outcome) {
			t.Errorf("%s history lacks r2 with %s:\n%s", h, outcome, hist)
		}
	}
	os.Remove(marker)
	p.mustPlat("push", "local", "--resume")
	p.expectFleet(all("r2 2.0.0"))
}

func TestRolloutHooks(t *testing.T) {
	out := t.TempDir()
	gate := filepath.Join(out, "frozen")
	hookEvents := []string{"starting", "uploaded", "switched", "finished", "failed", "rolled_back"}
	var hooks strings.Builder
	for _, ev := range hookEvents {
		fmt.Fprintf(&hooks, "  hook %q {\n    run = [\"sh\", \"-c\", %q]\n  }\n", ev,
			fmt.Sprintf("env | grep ^PLAT_ | sort > %s/local-%s.env", out, ev))
		fmt.Fprintf(&hooks, "  hook %q {\n    run = [\"sh\", \"-c\", %q]\n    on  = \"hosts\"\n  }\n", ev,
			fmt.Sprintf("env | grep ^PLAT_ | sort > %s/$PLAT_HOST-%s.env", out, ev))
	}
	fmt.Fprintf(&hooks, "  hook \"starting\" {\n    run = [\"sh\", \"-c\", %q]\n  }\n",
		fmt.Sprintf("if [ -e %s ]; then echo deploys are frozen >&2; exit 1; fi", gate))
	p := newFleet(t, canaryRollout, hooks.String())

	// check asserts which hook files the last push wrote and their PLAT_
	// variables, then removes them.
	check := func(ran []string, rel, prev string) {
		t.Helper()
		sha := strings.TrimSpace(gitOut(t, p.dir, "rev-parse", "HEAD"))
		for _, ev := range hookEvents {
			shouldRun := false
			for _, x := range ran {
				shouldRun = shouldRun || x == ev
			}
			for _, who := range append([]string{"local"}, fleetHosts...) {
				b, err := os.ReadFile(filepath.Join(out, who+"-"+ev+".env"))
				if !shouldRun {
					if err == nil {
						t.Errorf("hook %s (%s) ran:\n%s", ev, who, b)
					}
					continue
				}
				if err != nil {
					t.Errorf("hook %s (%s) did not run: %v", ev, who, err)
					continue
				}
				vars := map[string]string{}
				for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					k, v, _ := strings.Cut(l, "=")
					vars[k] = v
				}
				want := map[string]string{"PLAT_ENV": "local", "PLAT_RELEASE": rel, "PLAT_PREVIOUS_RELEASE": prev,
					"PLAT_HOSTS": strings.Join(fleetHosts, ","), "PLAT_GIT_SHA": sha}
				if who != "local" {
					want["PLAT_HOST"] = who
				}
				for k, v := range want {
					if got, ok := vars[k]; !ok || got != v {
						t.Errorf("hook %s (%s): %s=%q, want %q", ev, who, k, got, v)
					}
				}
				if u := vars["PLAT_USER"]; !strings.Contains(u, "@") {
					t.Errorf("hook %s (%s): PLAT_USER=%q, want user@machine", ev, who, u)
				}
				if _, ok := vars["PLAT_ERROR"]; ok != (ev == "failed" || ev == "rolled_back") {
					t.Errorf("hook %s (%s): PLAT_ERROR set: %v", ev, who, ok)
				}
			}
		}
		ents, _ := os.ReadDir(out)
		for _, e := range ents {
			os.Remove(filepath.Join(out, e.Name()))
		}
	}

	p.mustPlat("push", "local")
	check([]string{"starting", "uploaded", "switched", "finished"}, "r1", "")

	p.sickWhile(touch(t, filepath.Join(p.root, "sick")), "web1")
	if r := p.plat("push", "local"); r.code != 1 {
		t.Fatalf("want the canary to fail:\n%s", r)
	}
	check([]string{"starting", "uploaded", "failed", "rolled_back"}, "r2", "r1")

	// A failing starting hook stops the push before anything is built or
	// uploaded.
	touch(t, gate)
	p.write("VERSION", "3.0.0\n")
	r := p.plat("--json", "push", "local")
	if r.code != 1 || !strings.Contains(r.stderr, "hook starting failed; nothing was built or uploaded") || !strings.Contains(r.stdout, "deploys are frozen") {
		t.Fatalf("want exit 1 from the starting hook:\n%s", r)
	}
	for _, e := range events(t, r.stdout) {
		if e.Type == platform.EventStepStart && (e.Step == "build" || strings.HasPrefix(e.Step, "upload")) {
			t.Errorf("the push went on after its starting hook failed: %+v", e)
		}
	}
	for _, h := range fleetHosts {
		if rs := p.releasesOn(h); strings.Join(rs, ",") != "r1,r2" {
			t.Errorf("%s releases: %v, want [r1 r2]", h, rs)
		}
	}
	p.expectFleet(all("r1 1.0.0"))
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return string(out)
}

func TestRolloutConfirm(t *testing.T) {
	p := newFleet(t, `    stages = [1, "50%", "100%"]
    pause  = "confirm"`, "")
	r := p.plat("push", "local")
	if r.code != 2 || !strings.Contains(r.stderr, `pause = "confirm"`) || !strings.Contains(r.stderr, "not interactive") ||
		!strings.Contains(r.stderr, "--yes") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("want exit 2 asking for --yes:\n%s", r)
	}
	for _, h := range fleetHosts {
		if rs := p.releasesOn(h); len(rs) != 0 {
			t.Errorf("%s has releases %v after a refused push", h, rs)
		}
	}
	p.mustPlat("push", "local", "--yes")
	p.expectFleet(all("r1 1.0.0"))

	p.write("VERSION", "2.0.0\n")
	if r := p.plat("push", "local"); r.code != 2 {
		t.Fatalf("want exit 2:\n%s", r)
	}
	p.expectFleet(all("r1 1.0.0"))
	// --plan changes nothing, so it needs no answer.
	p.mustPlat("push", "local", "--plan")
	p.mustPlat("push", "local", "-y")
	p.expectFleet(all("r2 2.0.0"))
}

func TestRolloutMaxParallel(t *testing.T) {
	p := newFleet(t, `    stages       = [2, "100%"]
    max_parallel = 2`, "")
	r := p.mustPlat("--json", "push", "local")
	p.expectFleet(all("r1 1.0.0"))
	// A host is in flight from the start of its switch to the end of its
	// health gate; events arrive in the order they happened.
	inFlight, most := map[string]bool{}, 0
	for _, e := range events(t, r.stdout) {
		switch {
		case e.Type == platform.EventStepStart && e.Step == "switch r1":
			inFlight[e.Host] = true
		case e.Type == platform.EventStepEnd && e.Step == "health":
			delete(inFlight, e.Host)
		}
		most = max(most, len(inFlight))
	}
	if most > 2 || most == 0 {
		t.Errorf("at most %d hosts switched at once, want 1 or 2 (max_parallel = 2)", most)
	}
}

func TestRolloutPlanGolden(t *testing.T) {
	p := newFleet(t, `    stages       = [1, "50%", "100%"]
    pause        = "1s"
    max_parallel = 2
    max_failures = "20%"
    on_failure   = "halt"`, "")
	first := planText(t, p.mustPlat("push", "local", "--plan").stdout, p)
	for _, h := range fleetHosts {
		if rs := p.releasesOn(h); len(rs) != 0 {
			t.Errorf("--plan uploaded to %s: %v", h, rs)
		}
	}
	p.mustPlat("push", "local")
	p.write("VERSION", "2.0.0\n")
	second := p.mustPlat("push", "local", "--plan")
	p.expectFleet(all("r1 1.0.0"))
	got := first + "---\n" + planText(t, second.stdout, p)
	golden := filepath.Join("testdata", "plan.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("plan output differs from %s (run with -update if the change is intended):\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

// planText is the plan part of push --plan's output with the commit and
// the release size (which any edit of the example changes) replaced by
// placeholders.
func planText(t *testing.T, stdout string, p *project) string {
	t.Helper()
	i := strings.Index(stdout, "Plan for ")
	if i < 0 {
		t.Fatalf("no plan in:\n%s", stdout)
	}
	s := stdout[i:]
	sha := strings.TrimSpace(gitOut(t, p.dir, "rev-parse", "--short=7", "HEAD"))
	s = strings.ReplaceAll(s, sha, "<sha>")
	return regexp.MustCompile(`(?m)^(Plan for .* files), [0-9.]+ [KMG]?i?B$`).ReplaceAllString(s, "$1, <size>")
}

// hammer requests host i's index page in a loop until stop is closed and
// reports what it saw.
type hammerResult struct {
	requests, refused, otherErrors int
	releases                       map[string]bool
	firstError                     string
}

func (p *project) hammer(i int, stop <-chan struct{}) <-chan hammerResult {
	done := make(chan hammerResult, 1)
	go func() {
		res := hammerResult{releases: map[string]bool{}}
		c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		re := regexp.MustCompile(`release (r[0-9]+) on`)
		for {
			select {
			case <-stop:
				done <- res
				return
			default:
			}
			res.requests++
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", p.port+i))
			if err != nil {
				if errors.Is(err, syscall.ECONNREFUSED) {
					res.refused++
				} else {
					res.otherErrors++
				}
				if res.firstError == "" {
					res.firstError = err.Error()
				}
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if m := re.FindSubmatch(b); m != nil {
				res.releases[string(m[1])] = true
			}
		}
	}()
	return done
}

func TestRolloutOverlapRestart(t *testing.T) {
	p := newFleet(t, `    restart       = "overlap"
    drain_timeout = "5s"`, "")
	p.mustPlat("push", "local")
	p.expectFleet(all("r1 1.0.0"))
	pidFile := filepath.Join(p.hostDir("web1"), ".plat", "pids", "web.pid")
	oldPid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}

	p.write("VERSION", "2.0.0\n")
	stop := make(chan struct{})
	seen := p.hammer(0, stop)
	r := p.plat("push", "local")
	close(stop)
	res := <-seen
	if r.code != 0 {
		t.Fatalf("push: %s", r)
	}
	t.Logf("%d requests during the push: %d refused, %d other errors (%s); releases seen %v",
		res.requests, res.refused, res.otherErrors, res.firstError, res.releases)
	if res.refused > 0 {
		t.Errorf("%d of %d requests to web1 were refused during an overlapping restart (first: %s)", res.refused, res.requests, res.firstError)
	}
	if !res.releases["r1"] || !res.releases["r2"] {
		t.Errorf("the request loop did not span the restart: releases seen %v", res.releases)
	}
	p.expectFleet(all("r2 2.0.0"))
	// One web process per host, the new one; the old generation is gone.
	newPid, _ := os.ReadFile(pidFile)
	if strings.TrimSpace(string(newPid)) == strings.TrimSpace(string(oldPid)) {
		t.Errorf("web.pid still names the old process %s", oldPid)
	}
	if _, err := os.Stat(pidFile + ".next"); err == nil {
		t.Errorf("the new generation's pid file was not promoted")
	}
	var pid int
	fmt.Sscan(string(oldPid), &pid)
	if pid > 0 && syscall.Kill(pid, 0) == nil {
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); !strings.Contains(string(st), "zombie") {
			t.Errorf("the old web process %d still runs", pid)
		}
	}

	// An app that cannot share its port: the new process dies, the old
	// one never stopped serving, and the host is switched back.
	b, _ := os.ReadFile(filepath.Join(p.dir, "app.py"))
	noReuse := strings.Replace(string(b), "socket.SO_REUSEPORT, 1)", "socket.SO_REUSEPORT, 0)", 1)
	if noReuse == string(b) {
		t.Fatal("examples/notes/app.py no longer sets SO_REUSEPORT; update this test")
	}
	p.write("app.py", noReuse)
	r = p.plat("push", "local")
	if r.code != 1 || !strings.Contains(r.stderr, "SO_REUSEPORT") || !strings.Contains(r.stderr, "web1") {
		t.Fatalf("want exit 1 naming web1 and SO_REUSEPORT:\n%s", r)
	}
	p.expectFleet(all("r2 2.0.0"))
}

// platEnv runs plat like p.plat with extra environment variables.
func (p *project) platEnv(env []string, args ...string) result {
	p.t.Helper()
	args = append([]string{"-C", p.dir, "--var", fmt.Sprintf("base_port=%d", p.port)}, args...)
	cmd := exec.Command(platBin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(append(os.Environ(), "CI=true"), env...)
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("run plat: %v", err)
	}
	return result{code, out.String(), errb.String()}
}

// TestRolloutSystemdUnits pushes with processes = "systemd" against a
// stand-in systemctl that records its calls, on the local provider's
// hosts (directories of this machine, where no user manager runs), so no
// process starts (and the test drops the health check); it checks the
// units plat writes for each host and the systemctl calls of a push and of
// plat down. TestSystemdUserUnitsReal runs them under a real systemd.
func TestRolloutSystemdUnits(t *testing.T) {
	p := newFleet(t, `    stages = [1, "100%"]`, "  processes = \"systemd\"\n")
	hcl := filepath.Join(p.dir, "plat.hcl")
	b, _ := os.ReadFile(hcl)
	noHealth := regexp.MustCompile(`(?s)\n  health \{.*?\n  \}\n`).ReplaceAllString(string(b), "\n")
	if noHealth == string(b) {
		t.Fatal("examples/notes/plat.hcl has no app health block; update this test")
	}
	p.write("plat.hcl", noHealth)

	home, bin := t.TempDir(), t.TempDir()
	calls := filepath.Join(home, "calls")
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte("#!/bin/sh\necho \"$*\" >> "+calls+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=", "PATH=" + bin + ":" + os.Getenv("PATH")}
	if r := p.platEnv(env, "push", "local"); r.code != 0 {
		t.Fatalf("push: %s", r)
	}
	log, _ := os.ReadFile(calls)
	for i, h := range fleetHosts {
		unit := "plat-notes-local-" + h + "-web.service"
		u, err := os.ReadFile(filepath.Join(home, ".config", "systemd", "user", unit))
		if err != nil {
			t.Errorf("%s: %v", h, err)
			continue
		}
		for _, want := range []string{
			"WorkingDirectory=" + filepath.Join(p.hostDir(h), "releases", "r1") + "\n",
			fmt.Sprintf("Environment=\"PORT=%d\"\n", p.port+i),
			"Environment=\"PLAT_RELEASE=r1\"\n",
			"\"exec python3 app.py\"\n",
		} {
			if !strings.Contains(string(u), want) {
				t.Errorf("%s lacks %q:\n%s", unit, want, u)
			}
		}
		if !strings.Contains(string(log), "--user restart "+unit+"\n") {
			t.Errorf("systemctl was not asked to restart %s:\n%s", unit, log)
		}
		if p.current(h) != "r1" {
			t.Errorf("%s: current -> %s", h, p.current(h))
		}
		if _, err := os.Stat(filepath.Join(p.hostDir(h), ".plat", "pids", "web.pid")); err == nil {
			t.Errorf("%s: plat supervised a process itself", h)
		}
	}
	if r := p.platEnv(env, "down", "local"); r.code != 0 {
		t.Fatalf("down: %s", r)
	}
	log, _ = os.ReadFile(calls)
	if !strings.Contains(string(log), "--user stop plat-notes-local-web6-web.service\n") {
		t.Errorf("plat down did not stop the units:\n%s", log)
	}
}
