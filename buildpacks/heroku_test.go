package buildpacks

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/plat-sh/plat/platform"

	"github.com/plat-sh/plat/platform/hostcmd"
)

func TestHerokuChain(t *testing.T) {
	dir := copyApp(t, "heroku")
	cache := t.TempDir()
	b := newTestBuilder(t, Options{Stack: "plat-test-stack"})
	req := func() *platform.BuildRequest {
		return &platform.BuildRequest{
			Dir:        dir,
			Buildpacks: []string{"./buildpacks/first", testdataPath(t, "buildpacks", "second"), "procfile"},
			CacheDir:   cache,
			Env:        map[string]string{"GREETING": "hi from a config var"},
		}
	}
	res, out := mustBuild(t, b, req())

	if want := []string{"First", "Second", "procfile"}; !reflect.DeepEqual(res.Buildpacks, want) {
		t.Errorf("Buildpacks = %v, want %v", res.Buildpacks, want)
	}
	// second's web overrides first's; first's worker stays; the app's
	// Procfile adds release.
	wantProcs := map[string]string{
		"web":     "second-web --port $PORT",
		"worker":  "sh -c 'echo working: yes'",
		"release": "sh -c 'echo migrating'",
	}
	if !reflect.DeepEqual(res.Processes, wantProcs) {
		t.Errorf("Processes = %v, want %v", res.Processes, wantProcs)
	}
	if got := readFile(t, dir, "Procfile"); got != string(formatProcfile(wantProcs)) {
		t.Errorf("Procfile = %q", got)
	}
	// ENV_DIR carries config vars; the environment does not.
	if got := readFile(t, dir, "greeting.txt"); got != "hi from a config var\n" {
		t.Errorf("greeting.txt = %q", got)
	}
	if got := readFile(t, dir, "first-env.txt"); got != "GREETING in environment: unset\nSTACK=plat-test-stack\n" {
		t.Errorf("first-env.txt = %q", got)
	}
	// The export file reached the second buildpack, PATH included.
	if got := readFile(t, dir, "second.txt"); got != "FIRST_HOME="+filepath.Join(dir, ".first")+"\ntool says: first tool\n" {
		t.Errorf("second.txt = %q", got)
	}
	for _, s := range []string{"-----> First app detected", "-----> first: done", "-----> Second app detected", "-----> second: done"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	// The export file was written into a copy, never into testdata.
	if _, err := os.Stat(testdataPath(t, "buildpacks", "first", "export")); !os.IsNotExist(err) {
		t.Errorf("compile wrote into the buildpack source: %v", err)
	}

	// .profile.d scripts stay in the tree; config_vars from bin/release are
	// defaults that a host's own value overrides.
	got := shell(t, dir, hostcmd.SourceProfile+` && echo "$FIRST_PROFILE|$FIRST_MODE"`)
	if got != "sourced from .profile.d|it's production\n" {
		t.Errorf("profile env = %q", got)
	}
	if got := shell(t, dir, hostcmd.SourceProfile+` && echo "$FIRST_MODE"`, "FIRST_MODE=staging"); got != "staging\n" {
		t.Errorf("config_vars default overrode the host's value: %q", got)
	}

	// CACHE_DIR persists: the second build sees the first one's count.
	if got := readFile(t, dir, "cache-count.txt"); got != "1\n" {
		t.Fatalf("first build cache-count = %q", got)
	}
	mustBuild(t, b, req())
	if got := readFile(t, dir, "cache-count.txt"); got != "2\n" {
		t.Fatalf("second build cache-count = %q, want 2 (the cache was not reused)", got)
	}
	entries, err := os.ReadDir(filepath.Join(cache, "buildpacks"))
	if err != nil || len(entries) != 2 || !strings.HasPrefix(entries[0].Name(), "first-") || !strings.HasPrefix(entries[1].Name(), "second-") {
		t.Fatalf("per-buildpack cache dirs = %v, %v, want one for first and one for second", entries, err)
	}
}

func TestHerokuFromGitURL(t *testing.T) {
	// A real repository holding the first buildpack, on branch v1.
	repo := filepath.Join(t.TempDir(), "first-buildpack")
	if err := copyTree(testdataPath(t, "buildpacks", "first"), repo); err != nil {
		t.Fatal(err)
	}
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=plat test", "-c", "user.email=test@plat.invalid", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git(repo, "init", "-q")
	git(repo, "add", ".")
	git(repo, "commit", "-q", "-m", "first buildpack")
	git(repo, "branch", "v1")
	// main moves on with a detect that no longer applies: the #v1 ref must
	// pick the older commit.
	if err := os.WriteFile(filepath.Join(repo, "bin", "detect"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	git(repo, "commit", "-q", "-am", "break detect on main")

	gitCache := t.TempDir()
	b := newTestBuilder(t, Options{GitCacheDir: gitCache})
	url := "file://" + repo + "#v1"
	cache := t.TempDir()
	for i := 1; i <= 2; i++ { // the second build fetches into the existing clone
		dir := copyApp(t, "heroku")
		res, _ := mustBuild(t, b, &platform.BuildRequest{Dir: dir, Buildpacks: []string{url}, CacheDir: cache})
		if !reflect.DeepEqual(res.Buildpacks, []string{"First"}) || res.Processes["web"] != "./serve.sh --port $PORT" {
			t.Fatalf("build %d: result = %+v", i, res)
		}
		if got := readFile(t, dir, "cache-count.txt"); got != string(rune('0'+i))+"\n" {
			t.Fatalf("build %d: cache-count = %q", i, got)
		}
	}
	clones, err := filepath.Glob(filepath.Join(gitCache, "first-buildpack-*", ".git"))
	if err != nil || len(clones) != 1 {
		t.Fatalf("clones in the git cache = %v, %v", clones, err)
	}
	if shallow := git(filepath.Dir(clones[0]), "rev-parse", "--is-shallow-repository"); shallow != "true\n" {
		t.Errorf("clone is not shallow: %q", shallow)
	}

	// On main, detect refuses: the build fails naming the buildpack.
	dir := copyApp(t, "heroku")
	_, err = b.Build(context.Background(), &platform.BuildRequest{Dir: dir, Buildpacks: []string{"file://" + repo}, CacheDir: cache})
	if err == nil || !strings.Contains(err.Error(), "does not apply to this app (bin/detect exited 1)") {
		t.Fatalf("err = %v", err)
	}
}

func TestHerokuCompileFails(t *testing.T) {
	dir := copyApp(t, "heroku")
	var out syncBuffer
	_, err := newTestBuilder(t, Options{}).Build(context.Background(), &platform.BuildRequest{
		Dir: dir, Buildpacks: []string{"procfile", "./buildpacks/failing"}, CacheDir: t.TempDir(), Output: &out,
	})
	var cerr *CompileError
	if !errors.As(err, &cerr) || cerr.Buildpack != "failing" {
		t.Fatalf("err = %v, want a *CompileError from buildpack failing", err)
	}
	msg := err.Error()
	for _, s := range []string{"build with buildpack failing: run bin/compile: exit status 3", "failing: line 30", "failing: line 12", "failing: giving up"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
	// Only the last 20 lines: line 11 is the 21st from the end.
	if strings.Contains(msg, "failing: line 11\n") || strings.Contains(msg, "nothing to build") {
		t.Errorf("error carries more than the failing buildpack's last lines:\n%s", msg)
	}
	// The full output went to Output as it streamed.
	if !strings.Contains(out.String(), "failing: line 1\n") || !strings.Contains(out.String(), "failing: line 30\n") {
		t.Errorf("output is not complete:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "Procfile")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, "Procfile"); got != "release: sh -c 'echo migrating'\n" {
		t.Errorf("a failed build rewrote the Procfile: %q", got)
	}
}

func TestHerokuDetectRefuses(t *testing.T) {
	dir := copyApp(t, "heroku")
	var out syncBuffer
	_, err := newTestBuilder(t, Options{}).Build(context.Background(), &platform.BuildRequest{
		Dir: dir, Buildpacks: []string{"./buildpacks/nodetect"}, CacheDir: t.TempDir(), Output: &out,
	})
	if err == nil || !strings.Contains(err.Error(), "./buildpacks/nodetect does not apply") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(out.String(), "compile must not run") {
		t.Fatalf("compile ran after detect refused:\n%s", out.String())
	}
}

// cancelOn cancels when the output contains marker.
type cancelOn struct {
	mu     sync.Mutex
	buf    strings.Builder
	marker string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.marker) {
		c.cancel()
	}
	return len(p), nil
}

func TestBuildCancelKillsBuildpackProcesses(t *testing.T) {
	dir := copyApp(t, "heroku")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOn{marker: "sleepy: started", cancel: cancel}
	_, err := newTestBuilder(t, Options{}).Build(ctx, &platform.BuildRequest{
		Dir: dir, Buildpacks: []string{"./buildpacks/sleepy"}, CacheDir: t.TempDir(), Output: out,
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var cerr *CompileError
	if !errors.As(err, &cerr) || cerr.Buildpack != "sleepy" {
		t.Fatalf("err = %v, want it to name buildpack sleepy", err)
	}
}

func TestParseRelease(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "empty output", in: "", want: nil},
		{name: "heroku shape", in: "---\naddons: []\nconfig_vars: {}\ndefault_process_types:\n  web: bundle exec puma -p $PORT\n  worker: 'sh -c \"a: b\"'\n",
			want: map[string]string{"web": "bundle exec puma -p $PORT", "worker": `sh -c "a: b"`}},
		{name: "flow mapping", in: "default_process_types: {web: ./bin/web}\n", want: map[string]string{"web": "./bin/web"}},
		{name: "not yaml", in: "default_process_types:\n  web: [unclosed\n", wantErr: "parse bin/release output"},
		{name: "bad process type", in: "default_process_types:\n  \"web server\": x\n", wantErr: `process type "web server"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel, err := parseRelease([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rel.DefaultProcessTypes, tt.want) {
				t.Fatalf("got %v, want %v", rel.DefaultProcessTypes, tt.want)
			}
		})
	}
}

// A Heroku buildpack that checks its stack refuses plat's default STACK
// and runs when a STACK config var names one it knows.
func TestHerokuStackFromConfig(t *testing.T) {
	b := newTestBuilder(t, Options{})
	dir := copyApp(t, "stackcheck")
	var out syncBuffer
	_, err := b.Build(context.Background(), &platform.BuildRequest{
		Dir: dir, Buildpacks: []string{"./buildpacks/stackcheck"}, CacheDir: t.TempDir(), Output: &out,
	})
	var cerr *CompileError
	if !errors.As(err, &cerr) || !strings.Contains(cerr.Tail, "Stack "+DefaultStack+" is not supported!") {
		t.Fatalf("build with the default stack: err = %v, want a CompileError showing the stack check\n%s", err, out.String())
	}

	dir = copyApp(t, "stackcheck")
	mustBuild(t, b, &platform.BuildRequest{
		Dir: dir, Buildpacks: []string{"./buildpacks/stackcheck"}, Env: map[string]string{"STACK": "heroku-22"},
	})
	if got := readFile(t, dir, "stack.txt"); got != "built for heroku-22\n" {
		t.Errorf("stack.txt = %q", got)
	}
	// Options.Stack is the fallback, the config var still wins over it.
	dir = copyApp(t, "stackcheck")
	mustBuild(t, newTestBuilder(t, Options{Stack: "heroku-24"}), &platform.BuildRequest{Dir: dir, Buildpacks: []string{"./buildpacks/stackcheck"}})
	if got := readFile(t, dir, "stack.txt"); got != "built for heroku-24\n" {
		t.Errorf("stack.txt with Options.Stack = %q", got)
	}
}
