package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ciRecipes are the CI examples whose deploy commands TestCIRecipes runs.
var ciRecipes = []string{"github-actions-deploy.yml", "Jenkinsfile"}

// ciBlock returns the shell lines between "# plat-ci:begin" and
// "# plat-ci:end" in an examples/ci file, with their common indentation
// removed: exactly what the CI system runs.
func ciBlock(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "ci", name))
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	in, blocks := false, 0
	for _, line := range strings.Split(string(data), "\n") {
		switch strings.TrimSpace(line) {
		case "# plat-ci:begin":
			in, blocks = true, blocks+1
			continue
		case "# plat-ci:end":
			in = false
			continue
		}
		if in {
			block = append(block, line)
		}
	}
	if blocks != 1 || in {
		t.Fatalf("%s: want one plat-ci:begin … plat-ci:end block, found %d (closed: %v)", name, blocks, !in)
	}
	indent := -1
	for _, l := range block {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range block {
		if len(l) >= indent {
			block[i] = l[indent:]
		}
	}
	return strings.Join(block, "\n") + "\n"
}

// TestCIRecipes runs the deploy lines of the GitHub Actions workflow and
// the Jenkinsfile, as they are written, against the local environment
// with the built plat on PATH, so the recipes cannot rot: a renamed flag,
// a changed event shape or a broken jq filter fails here.
func TestCIRecipes(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the CI recipes summarise plat's JSON with jq: install it (apt-get install jq)")
		}
		t.Skip("no jq on this machine")
	}
	blocks := map[string]string{}
	for _, name := range ciRecipes {
		b := ciBlock(t, name)
		if !strings.Contains(b, `plat push "$PLAT_ENV" --yes --lock-wait 5m --json`) {
			t.Errorf("%s: the block does not push non-interactively:\n%s", name, b)
		}
		blocks[name] = b
	}
	// Groovy reads backslashes in a ''' string as escapes: what Jenkins
	// runs would differ from the text.
	if strings.Contains(blocks["Jenkinsfile"], `\`) {
		t.Errorf("the Jenkinsfile's sh block has a backslash; Groovy would change it")
	}

	p := newProject(t)
	stepSummary := filepath.Join(t.TempDir(), "step-summary.md")
	tmp := t.TempDir() // the runner's RUNNER_TEMP, Jenkins' WORKSPACE_TMP
	run := func(name, env string) (int, string, string) {
		t.Helper()
		cmd := exec.Command("bash", "-c", blocks[name])
		cmd.Dir = p.dir
		cmd.Env = append(os.Environ(), "CI=true", "PATH="+filepath.Dir(platBin)+":"+os.Getenv("PATH"),
			"PLAT_ENV="+env, "PLAT_VAR_base_port="+strconv.Itoa(p.port), "GITHUB_STEP_SUMMARY="+stepSummary,
			"RUNNER_TEMP="+tmp, "WORKSPACE_TMP="+tmp)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	jsonLines := func(name string) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(tmp, "plat-push.jsonl"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			var ev map[string]any
			if err := json.Unmarshal([]byte(line), &ev); err != nil || ev["type"] == nil {
				t.Errorf("%s: plat-push.jsonl line %d is not an event: %q", name, i+1, line)
			}
		}
	}

	code, out, errOut := run("github-actions-deploy.yml", "local")
	if code != 0 {
		t.Fatalf("GitHub Actions block: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"web1\tr1\tok", "web2\tr1\tok"} {
		if !strings.Contains(out, want) {
			t.Errorf("GitHub Actions summary lacks %q:\n%s", want, out)
		}
	}
	if summary, _ := os.ReadFile(stepSummary); !strings.Contains(string(summary), "web2\tr1\tok") {
		t.Errorf("the step summary lacks the rows: %q", summary)
	}
	jsonLines("GitHub Actions")
	if strings.Contains(out, "untracked") {
		t.Errorf("the recipe leaves files in the work tree:\n%s", out)
	}
	p.get(0, "/healthz")

	p.write("VERSION", "2\n")
	code, out, errOut = run("Jenkinsfile", "local")
	if code != 0 {
		t.Fatalf("Jenkinsfile block: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"web1\tr2\tok", "web2\tr2\tok"} {
		if !strings.Contains(out, want) {
			t.Errorf("Jenkins summary lacks %q:\n%s", want, out)
		}
	}
	jsonLines("Jenkins")

	// Nothing new: the summary says so, and the job succeeds.
	if code, out, errOut = run("Jenkinsfile", "local"); code != 0 || !strings.Contains(out, "nothing to push") {
		t.Errorf("a push with nothing new: exit %d\n%s%s", code, out, errOut)
	}
	// A failing push fails the job although jq, last in the pipe, succeeds.
	for _, name := range ciRecipes {
		if code, out, errOut = run(name, "prdo"); code != 2 || !strings.Contains(out, "ERROR ") || !strings.Contains(out+errOut, `did you mean "prod"?`) {
			t.Errorf("%s with an unknown environment: exit %d (want 2)\n%s%s", name, code, out, errOut)
		}
	}
}
