package environments

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/plat-sh/plat/platform"
)

// DefaultFile is the name of the project file when Options.File is empty.
const DefaultFile = "plat.hcl"

// Options says where the project file is and what feeds its variables.
type Options struct {
	// Dir is the project directory; the file is Dir/File. Empty means ".".
	Dir string
	// File is the project file name, relative to Dir unless absolute.
	// Empty means "plat.hcl".
	File string
	// Vars are --var name=value pairs, raw strings parsed per the
	// variable's type.
	Vars map[string]string
	// VarFiles are --var-file paths (HCL files of attributes), applied in
	// order; relative paths are relative to the working directory.
	VarFiles []string
	// Environ is the process environment (os.Environ()); PLAT_VAR_<name>
	// sets variable <name>.
	Environ []string
	// Providers maps a provider type to the schema of its block. A
	// provider block of a type not in the map is a diagnostic. A nil map
	// disables the check: any type is accepted and its attributes are
	// decoded without a schema.
	Providers map[string]platform.Schema

	// Shared sources (shared blocks; see Source). CacheDir holds their
	// git checkouts; empty means the user's cache directory (plat/shared
	// under os.UserCacheDir). Offline forbids fetching: a git source
	// that is not pinned and cached is a diagnostic (shell completion).
	// Update names the sources whose pins move to their ref's current
	// commit (plat env update NAME), UpdateAll moves every pin; the lock
	// file is then written only when the load has no error.
	CacheDir  string
	Offline   bool
	Update    []string
	UpdateAll bool
}

// Files keeps the parsed sources of one Load so that diagnostics can be
// printed with source snippets.
type Files struct {
	files   map[string]*hcl.File
	sources []*Source
	origins map[string][]Origin
	// lockWritten: this load wrote the lock file (a pin added or moved).
	lockWritten bool
}

// Map returns the parsed files by name, as hcl.NewDiagnosticTextWriter
// wants them.
func (f *Files) Map() map[string]*hcl.File {
	if f == nil {
		return nil
	}
	return f.files
}

// WriteDiagnostics prints diags with source snippets from files, wrapped
// at width columns (0: no wrapping), in color if asked.
func WriteDiagnostics(w io.Writer, files *Files, diags hcl.Diagnostics, width uint, color bool) error {
	if err := hcl.NewDiagnosticTextWriter(w, files.Map(), width, color).WriteDiagnostics(diags); err != nil {
		return fmt.Errorf("write diagnostics: %w", err)
	}
	return nil
}

// Load reads the project file and the variable sources of opts and builds
// the project. It returns every diagnostic found; when they include an
// error the project is partial (or nil when the file cannot be read) and
// must not be deployed. Files is never nil.
func Load(opts Options) (*platform.Project, *Files, hcl.Diagnostics) {
	l := newLoader(opts)
	p := l.load()
	l.savePins(l.diags)
	l.noteSources(l.diags)
	return p, &Files{files: l.files, sources: l.sources, origins: l.origins, lockWritten: l.pinsWritten}, finish(l.diags, l.path)
}

// loader holds the state of one Load.
type loader struct {
	opts   Options
	parser *hclparse.Parser
	files  map[string]*hcl.File
	dir    string // absolute project directory
	path   string // the project file as named in diagnostics
	diags  hcl.Diagnostics

	vars      map[string]*variable
	varOrder  []string
	varObj    cty.Value
	locals    map[string]cty.Value
	localDefs map[string]*hcl.Attribute

	appName    string
	appPrivate *hcl.Attribute
	appSecrets []*hcl.Block
	appHealth  *platform.HealthCheck
	app        *platform.App

	// Shared sources (source.go, pins.go, provenance.go).
	sources        []*Source
	sharedEnvs     []sharedEnv
	sharedClusters map[string]*hcl.Block
	sharedDeclared map[string]bool
	lockPath       string
	pins           map[string]pin
	lockBroken     bool // the lock file is unreadable: never overwrite it
	pinsChanged    bool
	pinsWritten    bool
	origins        map[string][]Origin
}

func newLoader(opts Options) *loader {
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if opts.File == "" {
		opts.File = DefaultFile
	}
	return &loader{
		opts:   opts,
		parser: hclparse.NewParser(),
		files:  map[string]*hcl.File{},
		varObj: cty.EmptyObjectVal,
	}
}

func (l *loader) add(ds ...*hcl.Diagnostic) { l.diags = append(l.diags, ds...) }

// Top-level schema of plat.hcl.
var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "app", LabelNames: []string{"name"}},
		{Type: "environment", LabelNames: []string{"name"}},
		{Type: "shared", LabelNames: []string{"name"}},
		{Type: "store"},
	},
}

func (l *loader) load() *platform.Project {
	path := l.opts.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(l.opts.Dir, path)
	}
	abs, err := filepath.Abs(l.opts.Dir)
	if err != nil {
		abs = l.opts.Dir
	}
	l.dir = abs
	l.path = path
	absFile, err := filepath.Abs(path)
	if err != nil {
		absFile = path
	}

	src, err := os.ReadFile(path)
	if err != nil {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read configuration file"}
		if errors.Is(err, fs.ErrNotExist) {
			d.Summary = "Configuration file not found"
			d.Detail = fmt.Sprintf("There is no %s. Run `plat init` to write a starter file, or point -C/-f at the project.", path)
		} else {
			d.Detail = fmt.Sprintf("Reading %s failed: %s.", path, err)
		}
		l.add(d)
		return nil
	}
	file, diags := l.parser.ParseHCL(src, path)
	l.add(diags...)
	if file == nil {
		return nil
	}
	l.files[path] = file
	if diags.HasErrors() {
		// Syntax errors make the rest unreliable.
		return nil
	}

	content, diags := file.Body.Content(rootSchema)
	l.add(diags...)

	var varBlocks, localBlocks, appBlocks, envBlocks, sharedBlocks, storeBlocks []*hcl.Block
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			varBlocks = append(varBlocks, b)
		case "locals":
			localBlocks = append(localBlocks, b)
		case "app":
			appBlocks = append(appBlocks, b)
		case "environment":
			envBlocks = append(envBlocks, b)
		case "shared":
			sharedBlocks = append(sharedBlocks, b)
		case "store":
			storeBlocks = append(storeBlocks, b)
		}
	}

	l.loadVariables(varBlocks)
	l.loadLocals(localBlocks)
	l.loadShared(sharedBlocks)

	p := &platform.Project{Dir: l.dir, File: absFile, Variables: map[string]any{}}
	for _, name := range l.varOrder {
		if v := l.vars[name]; v.ok {
			p.Variables[name] = toGo(v.value)
		}
	}

	switch len(appBlocks) {
	case 0:
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing app block",
			Detail:   `A plat.hcl describes exactly one app: add an app "NAME" { ... } block.`,
			Subject:  &hcl.Range{Filename: path, Start: hcl.InitialPos, End: hcl.InitialPos},
		})
		l.app = &platform.App{}
	default:
		for _, b := range appBlocks[1:] {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate app block",
				Detail:   fmt.Sprintf("A plat.hcl describes exactly one app; the first app block is at line %d.", appBlocks[0].DefRange.Start.Line),
				Subject:  b.DefRange.Ptr(),
			})
		}
		l.app = l.decodeApp(appBlocks[0])
	}
	p.App = l.app
	p.Environments = l.loadEnvironments(envBlocks)
	platform.FillDefaults(p)
	p.Store = l.loadStore(storeBlocks, p)
	return p
}

// finish removes repeated diagnostics (an inherited expression is
// evaluated once per child) and orders them by position.
func finish(diags hcl.Diagnostics, main string) hcl.Diagnostics {
	type key struct {
		sev     hcl.DiagnosticSeverity
		summary string
		detail  string
		rng     hcl.Range
	}
	seen := map[key]bool{}
	var out hcl.Diagnostics
	for _, d := range diags {
		k := key{sev: d.Severity, summary: d.Summary}
		if d.Subject != nil {
			k.rng = *d.Subject
		} else {
			k.detail = d.Detail
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	// Files keep the order in which they first show up.
	rank := map[string]int{main: 0}
	for _, d := range out {
		if d.Subject != nil {
			if _, ok := rank[d.Subject.Filename]; !ok {
				rank[d.Subject.Filename] = len(rank)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Subject, out[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return rank[a.Filename] < rank[b.Filename]
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
	return out
}
