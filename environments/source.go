package environments

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/plat-sh/plat/platform"
)

// Shared definitions: environments and clusters that ops keep in a
// directory or git repository of their own, used by many apps.
//
//	shared "ops" {
//	  git = "git::https://git.example.org/ops/platform.git?ref=v3"   # or path = "../ops"
//	}
//	environment "prod" {
//	  inherits = "ops.generic-prod"
//	}
//
// The source's *.hcl files (top level of the directory or repository)
// hold environment "NAME" and cluster "NAME" blocks; plat.hcl names them
// with the source's name as prefix (ops.generic-prod), the source's own
// files name each other without it. An environment uses a shared cluster
// with cluster "web" { use = "ops.generic" }. The files are data: they
// cannot set private settings, secrets or hooks (nothing of a source runs
// on the machine that pushes), and a source declares no further sources.
//
// A git source is fetched with the git CLI into the user's cache and
// pinned by commit in the lock file next to plat.hcl (see pins.go).

var sharedSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "git"}, {Name: "path"}},
}

var sharedFileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "environment", LabelNames: []string{"name"}},
		{Type: "cluster", LabelNames: []string{"name"}},
		// Not allowed, with a better message than "unsupported".
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "app", LabelNames: []string{"name"}},
		{Type: "shared", LabelNames: []string{"name"}},
	},
}

// sourceName is what a shared source may be called: a prefix of names,
// so without '.'.
var sourceName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// Source is one shared block of plat.hcl, as loaded.
type Source struct {
	Name string
	// Git is the address as written and locked (git::URL?ref=REF), its
	// credentials hidden; "" for a path source. Ref is the ref it names.
	Git, Ref string
	// Path is a path source's directory as written.
	Path string
	// Commit is the commit loaded; Previous the lock file's pin before
	// this load ("" when this load pinned the source first).
	Commit, Previous string
	// Dir holds the files read: the cache's checkout of Commit, or the
	// path source's directory.
	Dir string
	// Files are the HCL files read, relative to Dir.
	Files []string
	// Label prefixes the names of the source's files in diagnostics and
	// origins: "ops@3f2a1c9:" for git, the directory for a path source.
	Label string
	// Where is the shared block in plat.hcl (file:line).
	Where string
}

// sharedEnv is an environment block of a shared file.
type sharedEnv struct {
	src   string
	block *hcl.Block
}

// loadShared loads the shared blocks of plat.hcl: reads (fetching when
// needed) each source's files and collects their blocks.
func (l *loader) loadShared(blocks []*hcl.Block) {
	if len(blocks) == 0 {
		return
	}
	l.lockPath = lockFileName(l.path)
	l.pins = l.readPins(l.lockPath)
	if l.pins == nil {
		l.pins, l.lockBroken = map[string]pin{}, true
	}
	l.sharedClusters = map[string]*hcl.Block{}
	l.sharedDeclared = map[string]bool{}
	seen := map[string]*hcl.Block{}
	for _, b := range blocks {
		name := b.Labels[0]
		if prev := seen[name]; prev != nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate shared source",
				Detail:   firstAt(fmt.Sprintf("Shared source %q", name), prev.DefRange),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		seen[name] = b
		l.sharedDeclared[name] = true
		if !sourceName.MatchString(name) {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid shared source name",
				Detail:   fmt.Sprintf("%q is not a valid source name: use letters, digits, '_' and '-', starting with a letter (it prefixes names, as in %s.generic-prod).", name, "ops"),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		content, diags := b.Body.Content(sharedSchema)
		l.add(diags...)
		gitAttr, pathAttr := content.Attributes["git"], content.Attributes["path"]
		if (gitAttr == nil) == (pathAttr == nil) {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid shared block",
				Detail:   `A shared source sets exactly one of git = "git::https://…/ops.git?ref=v3" or path = "../ops".`,
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		src := &Source{Name: name, Where: fmt.Sprintf("%s:%d", b.DefRange.Filename, b.DefRange.Start.Line)}
		if pathAttr != nil {
			p, ok := l.str(pathAttr, scope{})
			if !ok {
				continue
			}
			if p == "" {
				l.invalid(pathAttr, "Invalid shared path", "path is the directory of the shared definitions, like \"../ops\".")
				continue
			}
			src.Path = p
			dir, label := p, p
			if !filepath.IsAbs(p) {
				dir, label = filepath.Join(l.dir, p), filepath.Join(l.opts.Dir, p)
			}
			src.Dir, src.Label = filepath.Clean(dir), filepath.Clean(label)+string(filepath.Separator)
			l.readShared(src, pathAttr.Range)
		} else {
			s, ok := l.str(gitAttr, scope{})
			if !ok {
				continue
			}
			g, err := parseGitURL(s)
			if err != nil {
				l.invalid(gitAttr, "Invalid git address", fmt.Sprintf("Shared source %q: %s. Write git = \"git::https://git.example.org/ops.git?ref=v3\".", name, err))
				continue
			}
			if !l.loadGit(src, g, gitAttr) {
				continue
			}
			l.readShared(src, gitAttr.Range)
		}
		l.sources = append(l.sources, src)
	}
}

// sourceFailed reports whether name (ops.generic) refers to a shared
// source that is declared but could not be loaded: its diagnostic
// explains, and the names it would have defined are not unknown.
func (l *loader) sourceFailed(name string) bool {
	prefix, _, ok := strings.Cut(name, ".")
	if !ok || !l.sharedDeclared[prefix] {
		return false
	}
	for _, s := range l.sources {
		if s.Name == prefix {
			return false
		}
	}
	return true
}

// loadGit finds the commit of a git source (the lock file's, else the
// ref's, fetched) and its checkout in the cache. It reports false when it
// failed (a diagnostic says why).
func (l *loader) loadGit(src *Source, g gitURL, at *hcl.Attribute) bool {
	src.Git, src.Ref = g.display(), g.refName()
	fail := func(summary, detail string) bool {
		l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: at.Expr.Range().Ptr(), Context: at.Range.Ptr()})
		return false
	}
	root := l.opts.CacheDir
	if root == "" {
		d, err := defaultCacheDir()
		if err != nil {
			return fail("No cache for shared sources", err.Error()+".")
		}
		root = d
	}
	cache := gitCache{root: root}
	name := src.Name
	p, locked := l.pins[name]
	update := l.opts.UpdateAll || slices.Contains(l.opts.Update, name)
	if locked && !update && p.git != src.Git {
		return fail("Lock file out of date", fmt.Sprintf("plat.hcl says %s for shared source %q, but %s pins %s. Run `plat env update %s` to pin the new address.", src.Git, name, l.lockPath, p.git, name))
	}

	if locked && !update {
		src.Commit, src.Previous = p.commit, p.commit
		// The usual case, and the offline one: the locked commit is
		// checked out in the cache; no git, no network.
		if d := cache.checkout(g, p.commit); d != "" {
			src.Dir = d
			return true
		}
		if l.opts.Offline {
			return fail("Shared source not cached", fmt.Sprintf("Shared source %q (commit %s) is not in this machine's cache, and this command does not fetch. Any plat command that loads plat.hcl (plat validate) fetches it.", name, short(p.commit)))
		}
		unlock, err := cache.lock(g)
		if err != nil {
			return fail("Cannot fetch shared source", fmt.Sprintf("Shared source %q: %s.", name, err))
		}
		defer unlock()
		if !cache.has(g, p.commit) {
			commit, err := cache.fetch(g)
			if err != nil {
				return fail("Cannot fetch shared source", fmt.Sprintf("Shared source %q: %s.", name, err))
			}
			if commit != p.commit {
				return fail("Shared source moved", fmt.Sprintf("%s now names commit %s, but %s pins %s to %s (not in this machine's cache). Review what changed, then run `plat env update %s` to move the pin.", src.Git, short(commit), l.lockPath, name, short(p.commit), name))
			}
		}
		d, err := cache.extract(g, p.commit)
		if err != nil {
			return fail("Cannot fetch shared source", fmt.Sprintf("Shared source %q: %s.", name, err))
		}
		src.Dir = d
		return true
	}

	if l.opts.Offline {
		return fail("Shared source not pinned", fmt.Sprintf("Shared source %q is not pinned in %s, and this command does not fetch. Run `plat env update %s`.", name, l.lockPath, name))
	}
	unlock, err := cache.lock(g)
	if err != nil {
		return fail("Cannot fetch shared source", fmt.Sprintf("Shared source %q: %s.", name, err))
	}
	defer unlock()
	commit, err := cache.fetch(g)
	if err != nil {
		return fail("Cannot fetch shared source", fmt.Sprintf("Shared source %q: %s.", name, err))
	}
	d, err := cache.extract(g, commit)
	if err != nil {
		return fail("Cannot fetch shared source", fmt.Sprintf("Shared source %q: %s.", name, err))
	}
	src.Commit, src.Dir = commit, d
	if locked {
		src.Previous = p.commit
	}
	if !locked || p.commit != commit || p.git != src.Git {
		l.pins[name] = pin{git: src.Git, commit: commit}
		l.pinsChanged = true
	}
	if !locked {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Shared source pinned",
			Detail:   fmt.Sprintf("Pinned shared source %q (%s) to commit %s in %s. Commit that file, so every machine that pushes uses the same definitions; `plat env update %s` moves the pin.", name, src.Git, short(commit), l.lockPath, name),
			Subject:  at.Range.Ptr(),
		})
	}
	return true
}

// readShared parses the top-level *.hcl files of src.Dir and collects
// their environment and cluster blocks.
func (l *loader) readShared(src *Source, at hcl.Range) {
	if src.Git != "" {
		src.Label = fmt.Sprintf("%s@%s:", src.Name, short(src.Commit))
	}
	entries, err := os.ReadDir(src.Dir)
	if err != nil {
		l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read shared source",
			Detail: fmt.Sprintf("Shared source %q: %s.", src.Name, err), Subject: at.Ptr()})
		return
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".hcl") || strings.HasSuffix(n, ".lock.hcl") || strings.HasPrefix(n, ".") {
			continue
		}
		src.Files = append(src.Files, n)
		text, err := os.ReadFile(filepath.Join(src.Dir, n))
		if err != nil {
			l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read shared source",
				Detail: fmt.Sprintf("Shared source %q: %s.", src.Name, err), Subject: at.Ptr()})
			continue
		}
		fname := src.Label + n
		file, diags := l.parser.ParseHCL(text, fname)
		l.add(diags...)
		if file == nil {
			continue
		}
		l.files[fname] = file
		if diags.HasErrors() {
			continue
		}
		content, diags := file.Body.Content(sharedFileSchema)
		l.add(diags...)
		for _, b := range content.Blocks {
			switch b.Type {
			case "environment":
				l.sharedEnvs = append(l.sharedEnvs, sharedEnv{src: src.Name, block: b})
			case "cluster":
				q := src.Name + "." + b.Labels[0]
				if prev := l.sharedClusters[q]; prev != nil {
					l.add(&hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Duplicate cluster name",
						Detail:   firstAt(fmt.Sprintf("Shared cluster %q", b.Labels[0]), prev.DefRange),
						Subject:  b.LabelRanges[0].Ptr(),
					})
					continue
				}
				l.sharedClusters[q] = b
			default:
				l.add(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Not allowed in a shared file",
					Detail: fmt.Sprintf("A shared source holds only environment and cluster blocks; a %s block belongs in the app's plat.hcl (expressions here may use the app's var.*, local.*, app.name and env.name).",
						b.Type),
					Subject: b.DefRange.Ptr(),
				})
			}
		}
	}
	if len(src.Files) == 0 {
		l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Shared source is empty",
			Detail: fmt.Sprintf("Shared source %q holds no .hcl file at its top level (%s).", src.Name, src.Dir), Subject: at.Ptr()})
	}
}

// notShared are what a shared environment may not set: the app's private
// settings and secrets, and hooks (commands run on the pushing machine).
var notShared = map[string]string{
	"private": "private settings belong to the app and its own environments",
	"secret":  "secrets belong to the app and its own environments",
	"hook":    "a hook runs a command on the machine that pushes; commands belong to the app's own plat.hcl",
}

// addSharedSpecs adds the shared environments to specs, named
// "<source>.<name>".
func (l *loader) addSharedSpecs(specs map[string]*envSpec) {
	for _, se := range l.sharedEnvs {
		b := se.block
		name := se.src + "." + b.Labels[0]
		content, diags := b.Body.Content(envSchema)
		l.add(diags...)
		if !validName.MatchString(b.Labels[0]) {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid environment name",
				Detail:   fmt.Sprintf("%q is not a valid environment name: use letters, digits, '.', '_' and '-', starting with a letter or digit.", b.Labels[0]),
				Subject:  b.LabelRanges[0].Ptr(),
			})
		}
		if at := content.Attributes["private"]; at != nil {
			l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Not allowed in a shared environment",
				Detail: "A shared environment cannot set private: " + notShared["private"] + ".", Subject: at.Range.Ptr()})
			delete(content.Attributes, "private")
		}
		var kept []*hcl.Block
		for _, blk := range content.Blocks {
			if why, bad := notShared[blk.Type]; bad {
				l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Not allowed in a shared environment",
					Detail: fmt.Sprintf("A shared environment cannot declare a %s block: %s.", blk.Type, why), Subject: blk.DefRange.Ptr()})
				continue
			}
			kept = append(kept, blk)
		}
		content.Blocks = kept
		if prev := specs[name]; prev != nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate environment name",
				Detail:   firstAt(fmt.Sprintf("Environment %q", name), prev.block.DefRange),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		l.useClusters(content, se.src)
		specs[name] = &envSpec{name: name, block: b, own: content, inherits: content.Attributes["inherits"], src: se.src}
	}
}

// appEnvWins drops from e.Env the variables that the app block sets, when
// e's env comes from a shared source: the app has the last word over
// what it inherits.
func (l *loader) appEnvWins(e *platform.Environment, at *hcl.Attribute) {
	if l.app == nil || !l.fromShared(at.Range) {
		return
	}
	for k := range l.app.Environ {
		delete(e.Environ, k)
	}
}

// fromShared reports whether r is in a shared source's file.
func (l *loader) fromShared(r hcl.Range) bool {
	for _, s := range l.sources {
		if strings.HasPrefix(r.Filename, s.Label) {
			return true
		}
	}
	return false
}

// qualify is the spec name an inherits of s names: a shared environment's
// names are relative to its own source.
func qualify(s *envSpec, name string) string {
	if s.src == "" {
		return name
	}
	return s.src + "." + name
}

// useClusters replaces each cluster "X" { use = "ops.generic" } block of
// content by the shared cluster it names (under the name X).
func (l *loader) useClusters(content *hcl.BodyContent, src string) {
	var out []*hcl.Block
	for _, b := range content.Blocks {
		body, ok := b.Body.(*hclsyntax.Body)
		if b.Type != "cluster" || !ok || body.Attributes["use"] == nil {
			out = append(out, b)
			continue
		}
		at := body.Attributes["use"].AsHCLAttribute()
		if len(body.Attributes) > 1 || len(body.Blocks) > 0 {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid cluster block",
				Detail:   fmt.Sprintf("Cluster %q uses a shared cluster and may set nothing else: the shared cluster is used whole. To change its hosts, declare the cluster here instead.", b.Labels[0]),
				Subject:  b.DefRange.Ptr(),
			})
		}
		name, ok := l.str(at, scope{})
		if !ok {
			continue
		}
		q := name
		if src != "" {
			q = src + "." + name
		}
		shared := l.sharedClusters[q]
		if shared == nil && src == "" && l.sourceFailed(name) {
			continue
		}
		if shared == nil {
			known := sortedKeys(l.sharedClusters)
			if src != "" {
				known = nil
				for _, k := range sortedKeys(l.sharedClusters) {
					if rest, ok := strings.CutPrefix(k, src+"."); ok {
						known = append(known, rest)
					}
				}
			}
			list := "none"
			if len(known) > 0 {
				list = strings.Join(known, ", ")
			}
			l.invalid(at, "Unknown shared cluster", fmt.Sprintf("No shared source defines cluster %q.%s Shared clusters: %s.", name, suggest(name, known), list))
			continue
		}
		out = append(out, &hcl.Block{
			Type: "cluster", Labels: b.Labels, Body: shared.Body,
			DefRange: shared.DefRange, TypeRange: shared.TypeRange, LabelRanges: b.LabelRanges,
		})
	}
	content.Blocks = out
}

// savePins writes the lock file when this load pinned or moved a source.
func (l *loader) savePins(diags hcl.Diagnostics) {
	if !l.pinsChanged || l.lockBroken {
		return
	}
	// A first pin is written whatever else is wrong; a moved pin only
	// when the project loads with it.
	if (l.opts.UpdateAll || len(l.opts.Update) > 0) && diags.HasErrors() {
		return
	}
	var names []string
	for _, s := range l.sources {
		if s.Git != "" {
			names = append(names, s.Name)
		}
	}
	if err := writePins(l.lockPath, names, l.pins); err != nil {
		l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot write lock file", Detail: err.Error() + "."})
		return
	}
	l.pinsWritten = true
}

// noteSources adds, to each diagnostic in a git source's file, where that
// file is on this machine.
func (l *loader) noteSources(diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Subject == nil {
			continue
		}
		for _, s := range l.sources {
			if s.Git != "" && strings.HasPrefix(d.Subject.Filename, s.Label) {
				d.Detail += fmt.Sprintf("\n\n%s is commit %s of %s; the file is %s.", strings.TrimSuffix(s.Label, ":"), s.Commit, s.Git,
					filepath.Join(s.Dir, strings.TrimPrefix(d.Subject.Filename, s.Label)))
			}
		}
	}
}
