package environments

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/plat-sh/plat/platform/atomicfile"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// The lock file pins each git source of plat.hcl to a commit. It lives
// next to plat.hcl (plat.hcl -> plat.lock.hcl), is written by plat and
// committed by users, so that every machine that pushes loads the same
// shared definitions:
//
//	shared "ops" {
//	  git    = "git::https://git.example.org/ops/platform.git?ref=v3"
//	  commit = "3f2a1c9d0e..."
//	}
//
// The address is stored with its credentials hidden.

// lockFileName is the lock file of the project file path.
func lockFileName(projectFile string) string {
	dir, base := filepath.Split(projectFile)
	return filepath.Join(dir, strings.TrimSuffix(base, ".hcl")+".lock.hcl")
}

// pin is one entry of the lock file.
type pin struct {
	git    string // the display address (git::…?ref=…)
	commit string
	rng    hcl.Range // the entry's block, for diagnostics
}

var lockSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "shared", LabelNames: []string{"name"}}},
}

var pinSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "git", Required: true}, {Name: "commit", Required: true}},
}

var commitHash = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// readPins reads the lock file; a missing file is an empty lock.
func (l *loader) readPins(path string) map[string]pin {
	pins := map[string]pin{}
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return pins
	}
	if err != nil {
		l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read lock file", Detail: fmt.Sprintf("Reading %s failed: %s.", path, err)})
		return nil
	}
	file, diags := l.parser.ParseHCL(src, path)
	l.add(diags...)
	if file == nil || diags.HasErrors() {
		return nil
	}
	l.files[path] = file
	content, diags := file.Body.Content(lockSchema)
	l.add(diags...)
	for _, b := range content.Blocks {
		c, diags := b.Body.Content(pinSchema)
		l.add(diags...)
		if diags.HasErrors() {
			continue
		}
		var p pin
		p.rng = b.DefRange
		ok := true
		for name, dst := range map[string]*string{"git": &p.git, "commit": &p.commit} {
			v, ok1 := l.str(c.Attributes[name], scope{noVars: true})
			*dst, ok = v, ok && ok1
		}
		if !ok {
			continue
		}
		if !commitHash.MatchString(p.commit) {
			l.invalid(c.Attributes["commit"], "Invalid commit", fmt.Sprintf("%q is not a full commit hash; run `plat env update %s` to pin the source again.", p.commit, b.Labels[0]))
			continue
		}
		pins[b.Labels[0]] = p
	}
	return pins
}

// writePins replaces the lock file with pins (sorted by name), through a
// temporary file renamed over it.
func writePins(path string, names []string, pins map[string]pin) error {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(
		"# Written by plat: the commit each shared source of plat.hcl is pinned to.\n" +
			"# Commit this file. `plat env update [NAME]` moves a pin to its ref's current commit.\n")}})
	for _, name := range names {
		p, ok := pins[name]
		if !ok {
			continue
		}
		body.AppendNewline()
		b := body.AppendNewBlock("shared", []string{name}).Body()
		b.SetAttributeValue("git", cty.StringVal(p.git))
		b.SetAttributeValue("commit", cty.StringVal(p.commit))
	}
	if err := atomicfile.Write(path, hclwrite.Format(f.Bytes()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
