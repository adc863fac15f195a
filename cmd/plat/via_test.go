package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestViaArgs(t *testing.T) {
	a := &app{}
	root := newRootCommand(a) // binds (and resets) the global flags
	a.vars, a.json = []string{"region=phx2", "x=a b"}, true
	cmd, _, err := root.Find([]string{"push"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags([]string{"--ref", "v1", "-m", "fix -- it", "--lock-wait", "1m", "--force"}); err != nil {
		t.Fatal(err)
	}
	got, err := a.viaArgs(cmd, []string{"prod"}, &viaRequest{file: "deploy/plat.hcl", ref: "0123abc"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--file=deploy/plat.hcl", "--var=region=phx2", "--var=x=a b", "--json=true", "push",
		"--force=true", "--lock-wait=1m0s", "--message=fix -- it", "--ref=0123abc", "--", "prod"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("viaArgs =\n%q\nwant\n%q", got, want)
	}

	// The admin node finds the same command in them.
	probe := newRootCommand(&app{})
	probe.Flags().AddFlagSet(probe.PersistentFlags())
	if c, _, err := probe.Traverse(got); err != nil || c.Name() != "push" {
		t.Errorf("Traverse(%q) = %v, %v", got, c, err)
	}

	a.varFiles = []string{"prod.hcl"}
	if _, err := a.viaArgs(cmd, []string{"prod"}, &viaRequest{file: "plat.hcl"}); err == nil || !strings.Contains(err.Error(), "--var-file") {
		t.Errorf("--var-file: %v", err)
	}
}

func TestAbsoluteRemote(t *testing.T) {
	for in, want := range map[string]string{
		"git@example.org:ops/app.git":     "git@example.org:ops/app.git",
		"example.org:app.git":             "example.org:app.git",
		"https://example.org/ops/app.git": "https://example.org/ops/app.git",
		"file:///srv/git/app.git":         "file:///srv/git/app.git",
		"/srv/git/app.git":                "/srv/git/app.git",
		"../app.git":                      "/home/ada/app.git",
		"bare/app.git":                    "/home/ada/src/bare/app.git",
	} {
		if got := absoluteRemote("/home/ada/src", in); got != want {
			t.Errorf("absoluteRemote(%q) = %q, want %q", in, got, want)
		}
	}
}
