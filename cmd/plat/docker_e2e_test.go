package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/docker"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// laptop is a copy of examples/notes whose app has a unique name, so the
// containers and network of its "laptop" environment (named and labelled
// after the app) do not clash with other tests or runs.
type laptop struct {
	*project
	app string
	c   *docker.Client
}

// dockerWithBase connects to the local Docker daemon (skipping outside CI
// when there is none) and makes sure the base image exists.
func dockerWithBase(t *testing.T) *docker.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := docker.Connect(ctx, "")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs a Docker daemon: %v", err)
		}
		t.Skipf("no Docker daemon: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := docker.EnsureBase(ctx, c, docker.BaseOptions{}); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("base image: %v", err)
		}
		t.Skipf("no base image and cannot build it: %v", err)
	}
	return c
}

// newLaptop connects to the local Docker daemon (skipping outside CI when
// there is none), makes sure the base image exists and copies the example
// under a unique app name. Cleanup removes every container and network
// labelled with that app, even when the test failed.
func newLaptop(t *testing.T) *laptop {
	t.Helper()
	c := dockerWithBase(t)
	p := newProject(t)
	b := make([]byte, 4)
	rand.Read(b)
	l := &laptop{project: p, app: "notes" + hex.EncodeToString(b), c: c}
	t.Cleanup(func() { l.removeByLabel() })
	hcl := filepath.Join(p.dir, "plat.hcl")
	src, err := os.ReadFile(hcl)
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(string(src), `app "notes" {`, fmt.Sprintf("app %q {", l.app), 1)
	if renamed == string(src) {
		t.Fatal(`plat.hcl has no app "notes" block`)
	}
	if err := os.WriteFile(hcl, []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("commit", "-q", "-am", "unique app name")
	return l
}

// filters select everything plat made for the test's app.
func (l *laptop) filters() client.Filters {
	return client.Filters{}.Add("label", docker.LabelManaged+"=true").Add("label", docker.LabelApp+"="+l.app)
}

func (l *laptop) removeByLabel() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	api := l.c.API()
	ctrs, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: l.filters()})
	if err != nil {
		l.t.Errorf("cleanup: list containers: %v", err)
	}
	for _, s := range ctrs.Items {
		if _, err := api.ContainerRemove(ctx, s.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			l.t.Errorf("cleanup: remove container %v: %v", s.Names, err)
		}
	}
	nets, err := api.NetworkList(ctx, client.NetworkListOptions{Filters: l.filters()})
	if err != nil {
		l.t.Errorf("cleanup: list networks: %v", err)
	}
	for _, n := range nets.Items {
		if _, err := api.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			l.t.Errorf("cleanup: remove network %s: %v", n.Name, err)
		}
	}
}

// counts returns how many containers (running or not) and networks carry
// the app's labels.
func (l *laptop) counts() (containers, running, networks int) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctrs, err := l.c.API().ContainerList(ctx, client.ContainerListOptions{All: true, Filters: l.filters()})
	if err != nil {
		l.t.Fatal(err)
	}
	for _, s := range ctrs.Items {
		if s.State == "running" {
			running++
		}
	}
	nets, err := l.c.API().NetworkList(ctx, client.NetworkListOptions{Filters: l.filters()})
	if err != nil {
		l.t.Fatal(err)
	}
	return len(ctrs.Items), running, len(nets.Items)
}

func (l *laptop) container(host string) string {
	return docker.ContainerName(l.app, "laptop", host)
}

func (l *laptop) sha(rev string) string {
	l.t.Helper()
	cmd := exec.Command("git", "rev-parse", rev)
	cmd.Dir = l.dir
	out, err := cmd.Output()
	if err != nil {
		l.t.Fatalf("git rev-parse %s: %v", rev, err)
	}
	return strings.TrimSpace(string(out))
}

var urlLine = regexp.MustCompile(`(?m)^(web\d+) (http://127\.0\.0\.1:\d+)$`)

// urls returns the published URLs printed after a push or rollback.
func urls(t *testing.T, r result) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, sm := range urlLine.FindAllStringSubmatch(r.stdout, -1) {
		m[sm[1]] = sm[2]
	}
	if m["web1"] == "" || m["web2"] == "" {
		t.Fatalf("push printed no URL for web1 and web2:\n%s", r)
	}
	return m
}

// servesAt asserts that every URL serves a page containing each of want.
func servesAt(t *testing.T, urls map[string]string, want ...string) {
	t.Helper()
	for host, u := range urls {
		port := 0
		fmt.Sscanf(u[strings.LastIndexByte(u, ':')+1:], "%d", &port)
		body, err := getPort(t, port, "/")
		if err != nil {
			t.Fatalf("GET %s (%s): %v", u, host, err)
		}
		for _, w := range append([]string{"on " + host}, want...) {
			if !strings.Contains(body, w) {
				t.Fatalf("%s (%s) does not serve %q:\n%s", host, u, w, body)
			}
		}
	}
}

// currentOf reads where current points on host, through plat exec.
func (l *laptop) currentOf(host string) string {
	l.t.Helper()
	r := l.mustPlat("exec", "laptop", "--host", host, "--", "sh", "-c", `readlink "$PLAT_DEPLOY_TO/current"`)
	return strings.TrimSpace(r.stdout)
}

func TestDockerLaptopEndToEnd(t *testing.T) {
	t.Parallel()
	l := newLaptop(t)

	up := l.mustPlat("up", "laptop")
	for _, h := range []string{"web1", "web2"} {
		if !strings.Contains(up.stdout, "creating container "+l.container(h)) || !regexp.MustCompile(h+` running \(`+l.container(h)+` \w+ http://127\.0\.0\.1:\d+\)`).MatchString(up.stdout) {
			t.Fatalf("first up:\n%s", up)
		}
	}
	again := l.mustPlat("up", "laptop")
	if strings.Contains(again.stdout, "creating") || strings.Contains(again.stdout, "starting") {
		t.Errorf("second up changed something:\n%s", again)
	}
	if n, running, nets := l.counts(); n != 2 || running != 2 || nets != 1 {
		t.Fatalf("after two ups: %d containers (%d running), %d networks; want 2 (2), 1", n, running, nets)
	}

	r := l.mustPlat("push", "laptop")
	for _, want := range []string{"[web1] finished: upload r1", "[web2] finished: upload r1", "finished: task migrate", "[web2] finished: health"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("push output lacks %q:\n%s", want, r.stdout)
		}
	}
	u := urls(t, r)
	// Each container migrated its own database at start.
	servesAt(t, u, "notes 1.0.0", "release r1", "Deployed by plat")
	sha1 := l.sha("HEAD")

	l.write("VERSION", "2.0.0\n")
	r = l.mustPlat("push", "laptop")
	if !strings.Contains(r.stdout, "[web1] running: upload r2 (2 files changed") {
		t.Errorf("second push did not send only VERSION and REVISION:\n%s", r.stdout)
	}
	if u2 := urls(t, r); u2["web1"] != u["web1"] || u2["web2"] != u["web2"] {
		t.Errorf("published URLs moved: %v, then %v", u, u2)
	}
	servesAt(t, u, "notes 2.0.0", "release r2")

	r = l.mustPlat("rollback", "laptop")
	servesAt(t, urls(t, r), "notes 1.0.0", "release r1")

	st := l.mustPlat("status", "laptop", "--verify")
	for _, want := range []string{"web1: r1 verified, no drift", "web2: r1 verified, no drift", u["web2"]} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("status --verify lacks %q:\n%s", want, st.stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^web1\s+r1\s+.*web running`).MatchString(st.stdout) {
		t.Errorf("status does not show web1 on r1 with its web process:\n%s", st.stdout)
	}

	logs := l.mustPlat("logs", "laptop", "--host", "web1")
	if !strings.Contains(logs.stdout, "[web1] notes 1.0.0 listening on 0.0.0.0:8000") || !strings.Contains(logs.stdout, `"GET / HTTP/1.1" 200`) || strings.Contains(logs.stdout, "[web2]") {
		t.Errorf("logs --host web1:\n%s", logs)
	}

	ex := l.mustPlat("exec", "laptop", "--host", "web1", "--", "cat", "REVISION")
	if strings.TrimSpace(ex.stdout) != sha1 {
		t.Errorf("exec cat REVISION = %q, want %s (r1's commit)", ex.stdout, sha1)
	}
	// Hosts reach each other by name on the environment's network.
	ex = l.mustPlat("exec", "laptop", "--host", "web1", "--", "python3", "-c",
		"import urllib.request; print(urllib.request.urlopen('http://web2:8000/').read().decode())")
	if !strings.Contains(ex.stdout, "release r1 on web2") {
		t.Errorf("web1 cannot reach web2 by name:\n%s", ex)
	}

	down := l.mustPlat("down", "laptop")
	if !strings.Contains(down.stdout, "web1 stopped") || !strings.Contains(down.stdout, "web2 stopped") {
		t.Errorf("down:\n%s", down)
	}
	if n, running, nets := l.counts(); n != 2 || running != 0 || nets != 1 {
		t.Errorf("after down: %d containers (%d running), %d networks; want 2 (0), 1", n, running, nets)
	}
	// Up after down starts the containers and the current release's
	// processes again (the published ports are new).
	up = l.mustPlat("up", "laptop")
	if !strings.Contains(up.stdout, "[web2] running: start (web (r1))") || !strings.Contains(up.stdout, "[web1] finished: start") {
		t.Errorf("up after down did not start r1's processes:\n%s", up)
	}
	upURLs := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(web\d) running \(\S+ \w+ (http://127\.0\.0\.1:\d+)\)$`).FindAllStringSubmatch(up.stdout, -1) {
		upURLs[m[1]] = m[2]
	}
	if len(upURLs) != 2 {
		t.Fatalf("up printed no URLs:\n%s", up)
	}
	servesAt(t, upURLs, "notes 1.0.0", "release r1")

	down = l.mustPlat("down", "laptop", "--destroy")
	if !strings.Contains(down.stdout, "web1 missing") || !strings.Contains(down.stdout, "web2 missing") {
		t.Errorf("down --destroy:\n%s", down)
	}
	if n, _, nets := l.counts(); n != 0 || nets != 0 {
		t.Errorf("after down --destroy: %d containers, %d networks left", n, nets)
	}
}

func TestDockerContainerStoppedDuringPush(t *testing.T) {
	t.Parallel()
	l := newLaptop(t)
	l.mustPlat("up", "laptop")
	u := urls(t, l.mustPlat("push", "laptop"))
	l.write("VERSION", "2.0.0\n")

	cmd := exec.Command(platBin, "-C", l.dir, "--json", "push", "laptop")
	cmd.Env = append(os.Environ(), "CI=true")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var evs []platform.Event
	stopped := false
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e platform.Event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		evs = append(evs, e)
		if stopped || e.Type != platform.EventStepStart || e.Host != "web2" || !strings.HasPrefix(e.Step, "upload ") {
			continue
		}
		// Freeze plat while the container stops, so the stop lands
		// inside web2's upload rather than after it.
		stopped = true
		if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		zero := 0
		_, err := l.c.API().ContainerStop(ctx, l.container("web2"), client.ContainerStopOptions{Timeout: &zero})
		cancel()
		cmd.Process.Signal(syscall.SIGCONT)
		if err != nil {
			t.Fatalf("stop web2: %v", err)
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !stopped || !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("push with web2 stopped during its upload (stopped: %v): %v\nstderr:\n%s", stopped, err, stderr.String())
	}
	msg := stderr.String()
	if !strings.Contains(msg, "web2") || !strings.Contains(msg, l.container("web2")) || !strings.Contains(msg, "plat up laptop") {
		t.Errorf("the error does not name web2, its container and the fix:\n%s", msg)
	}
	for _, e := range evs {
		if strings.HasPrefix(e.Step, "switch") {
			t.Errorf("a host switched although web2 failed its upload: %+v", e)
		}
	}
	// web1 is consistent: still on r1, serving it.
	if cur := l.currentOf("web1"); cur != "releases/r1" {
		t.Errorf("web1 current -> %q, want releases/r1", cur)
	}
	delete(u, "web2")
	servesAt(t, u, "notes 1.0.0", "release r1")

	st := l.plat("status", "laptop")
	if st.code != 1 || !strings.Contains(st.stdout, "web2: machine is stopped: run `plat up laptop`") {
		t.Errorf("status with web2 stopped:\n%s", st)
	}

	// Recovery: up starts web2 again (on a new published port); the next
	// push takes over the lock the failed push could not release there.
	up := l.mustPlat("up", "laptop")
	if !strings.Contains(up.stdout, "starting container "+l.container("web2")) {
		t.Errorf("up after the stop:\n%s", up)
	}
	r := l.mustPlat("push", "laptop")
	if !strings.Contains(r.stdout, "[web2] taking over the lock left by a push that died") {
		t.Errorf("push after up:\n%s", r.stdout)
	}
	servesAt(t, urls(t, r), "notes 2.0.0", "release r3")
}

func TestDockerContainerRemovedBehindPlatsBack(t *testing.T) {
	t.Parallel()
	l := newLaptop(t)
	l.mustPlat("up", "laptop")
	l.mustPlat("push", "laptop")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := l.c.API().ContainerRemove(ctx, l.container("web2"), client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	st := l.plat("status", "laptop")
	if st.code != 1 || !strings.Contains(st.stdout, "web2: machine is missing: run `plat up laptop`") || !regexp.MustCompile(`(?m)^web1\s+r1\s`).MatchString(st.stdout) {
		t.Fatalf("status with web2 removed:\n%s", st)
	}
	r := l.plat("push", "laptop")
	if r.code != 1 || !strings.Contains(r.stderr, l.container("web2")+" is missing: run `plat up laptop`") {
		t.Errorf("push with web2 removed:\n%s", r)
	}

	up := l.mustPlat("up", "laptop")
	if !strings.Contains(up.stdout, "creating container "+l.container("web2")) || strings.Contains(up.stdout, "creating container "+l.container("web1")) {
		t.Errorf("up after the removal:\n%s", up)
	}
	// The same commit: web1 has it, the new web2 gets all of it.
	r = l.mustPlat("push", "laptop")
	if !strings.Contains(r.stdout, "[web1] running: upload r2 (0 files changed") || !regexp.MustCompile(`\[web2\] running: upload r2 \(\d+ files, `).MatchString(r.stdout) {
		t.Errorf("push after up:\n%s", r.stdout)
	}
	servesAt(t, urls(t, r), "notes 1.0.0", "release r2", "Deployed by plat")
}

func TestDockerSameReleaseAsSSH(t *testing.T) {
	t.Parallel()
	l := newLaptop(t)
	fleet := sshtest.New(t, 2)
	ports := l.sshEnv(fleet, "")
	t.Cleanup(func() { l.plat("down", "fleet") })
	// The same private settings as laptop's: they are part of the content.
	hcl := filepath.Join(l.dir, "plat.hcl")
	src, _ := os.ReadFile(hcl)
	same := strings.Replace(string(src), `private = "../notes-private/local"`, `private = "../notes-private/laptop"`, 1)
	if same == string(src) {
		t.Fatal("the fleet environment has no private setting to replace")
	}
	os.WriteFile(hcl, []byte(same), 0o644)
	l.git("commit", "-q", "-am", "fleet uses laptop's settings")

	l.mustPlat("up", "laptop")
	servesAt(t, urls(t, l.mustPlat("push", "laptop")), "release r1")
	l.mustPlat("push", "fleet")
	serves(t, ports, "release r1")

	hashes := map[string]string{}
	for _, env := range []string{"laptop", "fleet"} {
		b, err := os.ReadFile(filepath.Join(l.dir, ".plat", "store", "envs", env, "r1.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rel struct {
			GitSHA       string `json:"git_sha"`
			ManifestHash string `json:"manifest_hash"`
		}
		if err := json.Unmarshal(b, &rel); err != nil {
			t.Fatal(err)
		}
		if rel.GitSHA != l.sha("HEAD") || rel.ManifestHash == "" {
			t.Fatalf("%s r1: %s", env, b)
		}
		hashes[env] = rel.ManifestHash
	}
	if hashes["laptop"] != hashes["fleet"] {
		t.Errorf("the same commit has manifest hash %s on laptop and %s on fleet", hashes["laptop"], hashes["fleet"])
	}
}
