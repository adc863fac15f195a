package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// testRef is `package:TestName` or `package:TestName/subtest` in
// docs/faults.md.
var testRef = regexp.MustCompile("`([a-z0-9_./-]+):((?:Test|Fuzz)[A-Za-z0-9_]*)(?:/([^`]+))?`")

// TestFaultsDocNamesRealTests keeps docs/faults.md true: every test it
// names exists (a subtest's name is a string literal in its test
// function), and every fuzz target of the Makefile has a row.
func TestFaultsDocNamesRealTests(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "faults.md"))
	if err != nil {
		t.Fatal(err)
	}
	refs := testRef.FindAllStringSubmatch(string(doc), -1)
	if len(refs) < 50 {
		t.Fatalf("docs/faults.md names %d tests; the pattern no longer matches its rows?", len(refs))
	}
	funcs := map[string]map[string]*ast.FuncDecl{} // package dir -> name -> decl
	for _, ref := range refs {
		pkg, name, sub := ref[1], ref[2], ref[3]
		if _, ok := funcs[pkg]; !ok {
			funcs[pkg] = testFuncs(t, filepath.Join(root, filepath.FromSlash(pkg)))
		}
		fn := funcs[pkg][name]
		if fn == nil {
			t.Errorf("docs/faults.md names %s:%s, but package %s has no such test", pkg, name, pkg)
			continue
		}
		if sub != "" && !hasStringLiteral(fn, sub) {
			t.Errorf("docs/faults.md names %s:%s/%s, but %s has no subtest %q", pkg, name, sub, name, sub)
		}
	}

	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := regexp.MustCompile(`\./([a-z0-9_/.-]+):(Fuzz[A-Za-z0-9_]+)`).FindAllStringSubmatch(string(mk), -1)
	if len(targets) == 0 {
		t.Fatal("no FUZZ_TARGETS in the Makefile")
	}
	for _, tg := range targets {
		if !strings.Contains(string(doc), "`"+tg[1]+":"+tg[2]+"`") {
			t.Errorf("the Makefile fuzzes %s:%s, which docs/faults.md does not list", tg[1], tg[2])
		}
	}
}

// testFuncs returns the Test and Fuzz functions of the package in dir.
func testFuncs(t *testing.T, dir string) map[string]*ast.FuncDecl {
	t.Helper()
	out := map[string]*ast.FuncDecl{}
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Errorf("docs/faults.md names package %s, which has no tests (%v)", dir, err)
		return out
	}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				out[fd.Name.Name] = fd
			}
		}
	}
	return out
}

// hasStringLiteral reports whether s is a string literal in fn's body.
func hasStringLiteral(fn *ast.FuncDecl, s string) bool {
	found := false
	ast.Inspect(fn, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if v, err := strconv.Unquote(lit.Value); err == nil && v == s {
				found = true
			}
		}
		return !found
	})
	return found
}
