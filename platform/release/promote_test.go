package release

import (
	"strings"
	"testing"
)

func TestWithPrivate(t *testing.T) {
	parse := func(s string) *Manifest {
		t.Helper()
		m, err := Parse(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	h := func(c byte) string { return strings.Repeat(string(c), 64) }
	stage := parse("f 0644 1 " + h('a') + " app.py\n" +
		"d 0755 0 - conf\n" +
		"p 0600 2 " + h('b') + " conf/stage.ini\n" +
		"f 0644 3 " + h('c') + " settings.json\n")
	prod := parse("d 0755 0 - conf\n" +
		"p 0600 4 " + h('d') + " conf/prod.ini\n" +
		"d 0755 0 - keys\n" +
		"p 0600 5 " + h('e') + " keys/k\n" +
		"p 0600 6 " + h('f') + " settings.json\n")
	got := WithPrivate(stage, prod)
	want := "f 0644 1 " + h('a') + " app.py\n" +
		"d 0755 0 - conf\n" +
		"p 0600 4 " + h('d') + " conf/prod.ini\n" +
		"d 0755 0 - keys\n" +
		"p 0600 5 " + h('e') + " keys/k\n" +
		"p 0600 6 " + h('f') + " settings.json\n"
	if string(got.Bytes()) != want {
		t.Errorf("WithPrivate:\n%s\nwant:\n%s", got.Bytes(), want)
	}
	// Stage's own private file is gone, prod's are in; the build output
	// (everything else) is stage's, except the public file a private one
	// replaced.
	if BuildHash(got) == BuildHash(stage) {
		t.Error("a private file that replaces a public one left the build output unchanged")
	}
	same := WithPrivate(stage, parse("p 0600 4 "+h('d')+" conf/prod.ini\n"))
	if BuildHash(same) != BuildHash(stage) {
		t.Errorf("build output changed:\n%s\n%s", BuildOutput(same).Bytes(), BuildOutput(stage).Bytes())
	}
	if same.Hash() == stage.Hash() {
		t.Error("the manifest with other private files has the same hash")
	}
}
