package environments

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/plat-sh/plat/platform"
)

var envSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "inherits"}, {Name: "deploy_to"}, {Name: "keep_releases"},
		{Name: "private"}, {Name: "processes"}, {Name: "env"}, {Name: "via"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "provider", LabelNames: []string{"type"}},
		{Type: "cluster", LabelNames: []string{"name"}},
		{Type: "rollout"},
		{Type: "hook", LabelNames: []string{"event"}},
		{Type: "secret", LabelNames: []string{"name"}},
	},
}

// inheritedBlocks are the nested block types of an environment, each
// replaced wholesale by a child that declares it.
var inheritedBlocks = []string{"provider", "cluster", "rollout", "hook"}

// localProvider is the provider whose deploy_to may be relative.
const localProvider = "local"

// validName is what environment, cluster and host names may look like:
// they end up in paths and in output.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// envSpec is one environment block before decoding: its own content and,
// once resolved, the effective attributes and blocks after inheritance.
type envSpec struct {
	name     string
	block    *hcl.Block
	own      *hcl.BodyContent
	inherits *hcl.Attribute
	parent   string
	src      string // the shared source of the block, "" for plat.hcl

	attrs  map[string]*hcl.Attribute
	blocks map[string][]*hcl.Block

	state  int // 0 new, 1 resolving, 2 resolved
	failed bool
}

func (l *loader) loadEnvironments(blocks []*hcl.Block) []*platform.Environment {
	specs := map[string]*envSpec{}
	var order []*envSpec
	for _, b := range blocks {
		name := b.Labels[0]
		content, diags := b.Body.Content(envSchema)
		l.add(diags...)
		if prev := specs[name]; prev != nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate environment name",
				Detail:   firstAt(fmt.Sprintf("Environment %q", name), prev.block.DefRange),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		if !validName.MatchString(name) {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid environment name",
				Detail:   fmt.Sprintf("%q is not a valid environment name: use letters, digits, '.', '_' and '-', starting with a letter or digit.", name),
				Subject:  b.LabelRanges[0].Ptr(),
			})
		}
		l.checkSecretNames(content.Blocks)
		l.useClusters(content, "")
		s := &envSpec{name: name, block: b, own: content, inherits: content.Attributes["inherits"]}
		specs[name] = s
		order = append(order, s)
	}
	l.addSharedSpecs(specs)
	for _, s := range order {
		l.resolveEnv(s, specs, nil)
	}
	l.recordOrigins(specs, order)
	var envs []*platform.Environment
	for _, s := range order {
		e := l.decodeEnv(s)
		if !s.failed {
			envs = append(envs, e)
		}
	}
	return envs
}

// resolveEnv applies inheritance to s (parents first). It returns false
// when s cannot be resolved (missing parent, cycle); the reason has been
// reported once, and s then keeps only its own content.
func (l *loader) resolveEnv(s *envSpec, specs map[string]*envSpec, stack []*envSpec) bool {
	switch s.state {
	case 2:
		return !s.failed
	case 1:
		i := 0
		for stack[i] != s {
			i++
		}
		var chain []string
		for _, x := range stack[i:] {
			chain = append(chain, fmt.Sprintf("%q", x.name))
			x.failed = true
		}
		chain = append(chain, fmt.Sprintf("%q", s.name))
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Inheritance cycle",
			Detail:   fmt.Sprintf("These environments inherit from each other: %s. Break the cycle by removing one inherits.", strings.Join(chain, " inherits ")),
			Subject:  s.inherits.Expr.Range().Ptr(),
			Context:  s.inherits.Range.Ptr(),
		})
		return false
	}
	s.state = 1
	defer func() { s.state = 2 }()

	s.attrs = map[string]*hcl.Attribute{}
	for name, a := range s.own.Attributes {
		if name != "inherits" {
			s.attrs[name] = a
		}
	}
	s.blocks = map[string][]*hcl.Block{}
	for _, b := range s.own.Blocks {
		s.blocks[b.Type] = append(s.blocks[b.Type], b)
	}
	if s.inherits == nil {
		return true
	}
	parent, ok := l.str(s.inherits, scope{})
	if !ok {
		s.failed = true
		return false
	}
	s.parent = parent
	p := specs[qualify(s, parent)]
	if p == nil && l.sourceFailed(parent) {
		s.failed = true // the source's own diagnostic says why
		return false
	}
	if p == nil {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown parent environment",
			Detail:   fmt.Sprintf("Environment %q inherits from %q, which is not declared.%s Declared environments: %s.", s.name, parent, suggest(parent, sortedKeys(specs)), strings.Join(sortedKeys(specs), ", ")),
			Subject:  s.inherits.Expr.Range().Ptr(),
			Context:  s.inherits.Range.Ptr(),
		})
		s.failed = true
		return false
	}
	if !l.resolveEnv(p, specs, append(stack, s)) || s.failed {
		s.failed = true
		return false
	}
	attrs := map[string]*hcl.Attribute{}
	for k, v := range p.attrs {
		attrs[k] = v
	}
	for k, v := range s.attrs {
		attrs[k] = v
	}
	blocks := map[string][]*hcl.Block{}
	for _, typ := range inheritedBlocks {
		if own, ok := s.blocks[typ]; ok {
			blocks[typ] = own
		} else if inh, ok := p.blocks[typ]; ok {
			blocks[typ] = inh
		}
	}
	// Secrets inherit by name: a child's secret replaces its parent's.
	blocks["secret"] = mergeSecretBlocks(p.blocks["secret"], s.blocks["secret"])
	s.attrs, s.blocks = attrs, blocks
	return true
}

// decodeEnv evaluates the effective content of s. For a failed s (broken
// inheritance) it still checks s's own content, but does not complain
// about what a parent might have supplied.
func (l *loader) decodeEnv(s *envSpec) *platform.Environment {
	e := &platform.Environment{
		Name:         s.name,
		Inherits:     s.parent,
		KeepReleases: platform.DefaultKeepReleases,
		Processes:    platform.DefaultProcesses,
	}
	sc := scope{env: s.name, app: true}
	a := s.attrs

	providers := s.blocks["provider"]
	if len(providers) == 0 && !s.failed {
		detail := fmt.Sprintf(`Environment %q needs a provider block, like provider "local" {} or provider "ssh" { user = "deploy" }.`, s.name)
		if s.parent != "" {
			detail = fmt.Sprintf(`Neither environment %q nor the environments it inherits from have a provider block; add one, like provider "local" {}.`, s.name)
		}
		l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing provider block", Detail: detail, Subject: s.block.DefRange.Ptr()})
	}
	for i, pb := range providers {
		if i == 0 {
			e.Provider = l.decodeProvider(pb, sc)
		} else {
			l.single(pb, providers[0])
		}
	}

	if at := a["keep_releases"]; at != nil {
		if n, ok := l.integer(at, sc, 1, 1<<31-1); ok {
			e.KeepReleases = n
		}
	}
	if at := a["processes"]; at != nil {
		if p, ok := l.oneOf(at, sc, "Invalid processes", "plat", "systemd"); ok {
			e.Processes = p
		}
	}
	if at := a["env"]; at != nil {
		e.Environ, _ = l.stringMap(at, sc)
		l.appEnvWins(e, at)
	}
	if at := a["via"]; at != nil {
		e.Via = l.decodeVia(at, sc)
	}
	private := a["private"]
	if private == nil {
		private = l.appPrivate
	}
	if private != nil {
		if p, ok := l.str(private, sc); ok && p != "" {
			if !filepath.IsAbs(p) {
				p = filepath.Join(l.dir, p)
			}
			e.Private = filepath.Clean(p)
		}
	}

	e.Secrets = l.decodeSecrets(mergeSecretBlocks(l.appSecrets, s.blocks["secret"]), sc, mergedEnv(l.app, e))

	hostDeploy := map[*platform.Host]*hcl.Attribute{}
	seenHosts := map[string]hcl.Range{}
	seenClusters := map[string]*hcl.Block{}
	for _, cb := range s.blocks["cluster"] {
		name := cb.Labels[0]
		if prev := seenClusters[name]; prev != nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate cluster name",
				Detail:   firstAt(fmt.Sprintf("Cluster %q", name), prev.DefRange),
				Subject:  cb.LabelRanges[0].Ptr(),
			})
			continue
		}
		seenClusters[name] = cb
		if c := l.decodeCluster(cb, sc, seenHosts, hostDeploy); c != nil {
			e.Clusters = append(e.Clusters, c)
		}
	}
	// A scheduling provider (swarm) places the processes itself: its
	// environments declare no hosts.
	scheduled := l.opts.Providers[e.Provider.Type].Scheduled
	if len(s.blocks["cluster"]) == 0 && !s.failed && !scheduled {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing cluster block",
			Detail:   fmt.Sprintf(`Environment %q has no hosts: add a cluster, like cluster "web" { count = 2 } or cluster "web" { hosts = ["web[1:2].example.org"] }.`, s.name),
			Subject:  s.block.DefRange.Ptr(),
		})
	}

	l.decodeDeployTo(e, a["deploy_to"], sc, hostDeploy)
	platform.ResolveHosts(l.app, e, l.opts.Providers[e.Provider.Type].Hosts)

	e.Rollout = l.decodeRollout(s.blocks["rollout"], sc)
	for _, hb := range s.blocks["hook"] {
		if h, ok := l.decodeHook(hb, sc); ok {
			e.Hooks = append(e.Hooks, h)
		}
	}
	return e
}

// decodeDeployTo evaluates deploy_to: once for the environment (with
// placeholders when it uses host.*) and once per host.
func (l *loader) decodeDeployTo(e *platform.Environment, at *hcl.Attribute, sc scope, hostDeploy map[*platform.Host]*hcl.Attribute) {
	local := e.Provider.Type == localProvider
	switch {
	case at != nil:
		s := sc
		if usesRoot(at.Expr, "host") {
			s.host = &hostRef{name: "${host.name}", address: "${host.address}"}
		}
		e.DeployTo, _ = l.str(at, s)
	case !local && l.appName != "":
		e.DeployTo = "/srv/" + l.appName
	}
	for _, h := range e.Hosts() {
		attr := hostDeploy[h]
		if attr == nil {
			attr = at
		}
		if attr == nil {
			h.DeployTo = e.DeployTo
			continue
		}
		s := sc
		s.host = &hostRef{name: h.Name, address: h.Address}
		d, ok := l.str(attr, s)
		if !ok {
			continue
		}
		if !local && !strings.HasPrefix(d, "/") {
			l.invalid(attr, "Invalid deploy_to", fmt.Sprintf("deploy_to is an absolute path on the host; for host %q it is %q.", h.Name, d))
			continue
		}
		h.DeployTo = filepath.Clean(d)
	}
}

// usesRoot reports whether expr refers to root.* (host, env...).
func usesRoot(expr hcl.Expression, root string) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() == root {
			return true
		}
	}
	return false
}
