package buildpacks

import (
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

func goBuildpack() builtin {
	return builtin{
		name:     "go",
		looksFor: "go.mod",
		detect:   func(dir string) bool { return fileExists(dir, "go.mod") },
		compile:  compileGo,
	}
}

// goMain is one main package to build.
type goMain struct {
	pkg  string // "." or "./cmd/x"
	name string // binary name under bin/
}

func compileGo(ctx context.Context, bc *buildContext) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(bc.dir, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("read go.mod: %w", err)
	}
	modPath := modfile.ModulePath(data)
	if modPath == "" {
		return nil, fmt.Errorf("read go.mod: no module line in %s", filepath.Join(bc.dir, "go.mod"))
	}
	mains, err := findGoMains(bc.dir, binaryName(modPath))
	if err != nil {
		return nil, err
	}
	if len(mains) == 0 {
		return nil, fmt.Errorf("find main package: none at the root or in cmd/*\nhint: put package main in the module root or in cmd/<name>")
	}

	flags := "-mod=mod -modcacherw"
	if fileExists(bc.dir, "vendor", "modules.txt") {
		flags = "-mod=vendor"
	}
	if v := bc.config["GOFLAGS"]; v != "" {
		flags += " " + v
	}
	extra := map[string]string{
		"CGO_ENABLED": "0",
		"GOFLAGS":     flags,
		"GOMODCACHE":  filepath.Join(bc.cacheDir, "mod"),
	}
	for _, m := range mains {
		out := "bin/" + m.name
		if err := bc.run(ctx, extra, "go", "build", "-trimpath", "-buildvcs=false", "-o", out, m.pkg); err != nil {
			return nil, err
		}
	}
	return map[string]string{"web": "bin/" + webBinary(mains, binaryName(modPath))}, nil
}

var majorSuffixRE = regexp.MustCompile(`^v[0-9]+$`)

// binaryName is the last element of a module path that is not a major
// version suffix: example.com/hello/v2 builds bin/hello.
func binaryName(modPath string) string {
	name := path.Base(modPath)
	if majorSuffixRE.MatchString(name) && path.Dir(modPath) != "." {
		name = path.Base(path.Dir(modPath))
	}
	return name
}

// findGoMains finds package main at the root and in cmd/*.
func findGoMains(dir, rootName string) ([]goMain, error) {
	var mains []goMain
	isMain, err := isGoMain(dir)
	if err != nil {
		return nil, err
	}
	if isMain {
		mains = append(mains, goMain{pkg: ".", name: rootName})
	}
	entries, err := os.ReadDir(filepath.Join(dir, "cmd"))
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("find main packages: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		ok, err := isGoMain(filepath.Join(dir, "cmd", e.Name()))
		if err != nil {
			return nil, err
		}
		if ok && !(isMain && e.Name() == rootName) {
			mains = append(mains, goMain{pkg: "./cmd/" + e.Name(), name: e.Name()})
		}
	}
	sort.SliceStable(mains, func(i, j int) bool { return mains[i].pkg == "." && mains[j].pkg != "." })
	return mains, nil
}

// isGoMain reports whether dir's non-test Go files say package main.
func isGoMain(dir string) (bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return false, fmt.Errorf("find Go files: %w", err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly)
		if err != nil {
			return false, fmt.Errorf("read package clause: %w", err)
		}
		if af.Name.Name == "main" {
			return true, nil
		}
	}
	return false, nil
}

// webBinary picks the web process's binary: the root's, else the cmd/
// one named like the module, else the first.
func webBinary(mains []goMain, rootName string) string {
	for _, m := range mains {
		if m.name == rootName {
			return m.name
		}
	}
	return mains[0].name
}
