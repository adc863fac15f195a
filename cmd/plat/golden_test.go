package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// update (-update) is declared in rollout_e2e_test.go.

// golden compares got with testdata/name (or rewrites it with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// runMain runs plat in-process.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpGolden(t *testing.T) {
	for _, cmd := range [][]string{{"push"}, {"env", "show"}, {"rollback"}, {"exec"}, {"console"}, {"ps"}, {"start"}, {"stop"}, {"restart"}, {"ssh-config"}} {
		name := "help-" + strings.Join(cmd, "-") + ".golden"
		code, out, _ := runMain(t, append(cmd, "--help")...)
		if code != 0 {
			t.Fatalf("%v --help exited %d", cmd, code)
		}
		golden(t, name, out)
	}
}

func TestEveryCommandHasAnExample(t *testing.T) {
	a := &app{}
	root := newRootCommand(a)
	var missing []string
	var visit func(prefix string, cmds []*cobra.Command)
	visit = func(prefix string, cmds []*cobra.Command) {
		for _, c := range cmds {
			if c.Name() == "help" || c.Name() == "completion" || c.Hidden {
				continue
			}
			if strings.TrimSpace(c.Example) == "" {
				missing = append(missing, prefix+c.Name())
			}
			visit(prefix+c.Name()+" ", c.Commands())
		}
	}
	visit("", root.Commands())
	if len(missing) > 0 {
		t.Errorf("commands without an example in --help: %v", missing)
	}
}

// keepExampleClean fails t when it leaves a state directory in
// examples/notes (a command run there for real creates .plat/, which
// then sits in every worktree and is copied into every test project).
// Tests that only read the example run in it; the others run in a copy
// (notesCopy).
func keepExampleClean(t *testing.T) {
	t.Helper()
	state := filepath.Join("..", "..", "examples", "notes", ".plat")
	if _, err := os.Stat(state); err == nil {
		t.Logf("%s exists before the test (left by an earlier run?); not checking it", state)
		return
	}
	t.Cleanup(func() {
		if _, err := os.Stat(state); err == nil {
			t.Errorf("the test left %s: run plat in a copy of the example (notesCopy), not in it", state)
		}
	})
}

// notesCopy is a copy of examples/notes (and notes-private) in a
// temporary directory; it returns the copy of notes.
func notesCopy(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"notes", "notes-private"} {
		if out, err := exec.Command("cp", "-r", filepath.Join("..", "..", "examples", d), root).CombinedOutput(); err != nil {
			t.Fatalf("copy example: %v\n%s", err, out)
		}
	}
	return filepath.Join(root, "notes")
}

func TestEnvShowGolden(t *testing.T) {
	keepExampleClean(t)
	code, out, errs := runMain(t, "-C", "../../examples/notes", "env", "show", "prod")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden(t, "env-show-prod.golden", out)
	code, out, errs = runMain(t, "-C", "../../examples/notes", "env", "diff", "laptop", "dev")
	if code != 1 { // they differ
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden(t, "env-diff-laptop-dev.golden", out)
}

func TestUsageErrors(t *testing.T) {
	keepExampleClean(t)
	// status creates the project's state directory before it finds the
	// environment unknown: not in the example itself.
	notes := notesCopy(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
		env  []string // NAME=VALUE
	}{
		{"no environment", []string{"push"}, 2, "takes one environment", nil},
		{"unknown flag", []string{"push", "local", "--frobnicate"}, 2, "unknown flag", nil},
		{"unknown environment", []string{"-C", notes, "status", "moon"}, 2, `unknown environment "moon"`, nil},
		{"bad --var", []string{"-C", notes, "--var", "novalue", "validate"}, 2, "want NAME=VALUE", nil},
		{"missing -C directory", []string{"-C", "/nonexistent", "validate"}, 2, "-C /nonexistent: no such directory", nil},
		{"missing plat.hcl", []string{"-C", "/", "validate"}, 2, "no plat.hcl in /\n", nil},
		{"missing -f file", []string{"-C", "/", "-f", "alt.hcl", "validate"}, 2, "There is no /alt.hcl", nil},
		{"bad PLAT_JSON", []string{"-C", notes, "validate"}, 2, `PLAT_JSON="maybe": want true or false`, []string{"PLAT_JSON=maybe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, kv := range tt.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			code, _, errs := runMain(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d containing %q", code, errs, tt.code, tt.want)
			}
		})
	}
}
