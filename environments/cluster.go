package environments

import (
	"fmt"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/plat-sh/plat/platform"
)

var clusterSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "hosts"}, {Name: "count"}, {Name: "roles"}, {Name: "port"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "host", LabelNames: []string{"name"}}},
}

var hostSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "address"}, {Name: "deploy_to"}, {Name: "port"}, {Name: "roles"}, {Name: "vars"}},
}

// maxCount bounds count = N.
const maxCount = 1000

// decodeCluster decodes one cluster block. seen holds the host names of
// the environment so far (for duplicates across clusters); hostDeploy
// receives the host blocks' deploy_to, evaluated later per host.
func (l *loader) decodeCluster(b *hcl.Block, sc scope, seen map[string]hcl.Range, hostDeploy map[*platform.Host]*hcl.Attribute) *platform.Cluster {
	c := &platform.Cluster{Name: b.Labels[0]}
	if !validName.MatchString(c.Name) {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid cluster name",
			Detail:   fmt.Sprintf("%q is not a valid cluster name: use letters, digits, '.', '_' and '-', starting with a letter or digit.", c.Name),
			Subject:  b.LabelRanges[0].Ptr(),
		})
	}
	before := len(l.diags)
	content, diags := b.Body.Content(clusterSchema)
	l.add(diags...)
	a := content.Attributes
	if at := a["roles"]; at != nil {
		c.Roles, _ = l.strings(at, sc)
	}
	port := 0
	if at := a["port"]; at != nil {
		port, _ = l.integer(at, sc, 1, 65535)
	}

	byName := map[string]*platform.Host{}
	add := func(name string, rng hcl.Range) *platform.Host {
		if prev, dup := seen[name]; dup {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate host name",
				Detail:   firstAt(fmt.Sprintf("Host %q", name), prev),
				Subject:  rng.Ptr(),
			})
			return nil
		}
		seen[name] = rng
		h := &platform.Host{Name: name, Cluster: c.Name, Address: name, Port: port, Roles: append([]string(nil), c.Roles...)}
		c.Hosts = append(c.Hosts, h)
		byName[name] = h
		return h
	}

	hostsAttr, countAttr := a["hosts"], a["count"]
	if hostsAttr != nil && countAttr != nil {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Conflicting arguments",
			Detail:   fmt.Sprintf("A cluster lists its hosts or counts them, not both; hosts is set at line %d.", hostsAttr.Range.Start.Line),
			Subject:  countAttr.Range.Ptr(),
		})
		countAttr = nil
	}
	broken := false // a value was unusable (reported, or unknown after an earlier error)
	if hostsAttr != nil {
		patterns, ok := l.hostPatterns(hostsAttr, sc)
		broken = !ok
		for _, p := range patterns {
			names, err := expandHosts(p.pattern)
			if err != nil {
				l.add(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid host range",
					Detail:   "Bad host name: " + err.Error() + ".",
					Subject:  p.rng.Ptr(),
				})
				continue
			}
			for _, n := range names {
				add(n, p.rng)
			}
		}
	}
	if countAttr != nil {
		n, ok := l.integer(countAttr, sc, 1, maxCount)
		broken = !ok
		for i := 1; i <= n; i++ {
			add(c.Name+strconv.Itoa(i), countAttr.Expr.Range())
		}
	}

	blockSeen := map[string]*hcl.Block{}
	for _, hb := range content.Blocks {
		name := hb.Labels[0]
		if prev := blockSeen[name]; prev != nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate host name",
				Detail:   firstAt(fmt.Sprintf("Host block %q", name), prev.DefRange),
				Subject:  hb.LabelRanges[0].Ptr(),
			})
			continue
		}
		blockSeen[name] = hb
		h := byName[name]
		if h == nil {
			if _, err := expandHosts(name); err != nil || !validHost(name) {
				l.add(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid host name",
					Detail:   fmt.Sprintf("%q is not a host name; a host block names one host (ranges belong in hosts = [...]).", name),
					Subject:  hb.LabelRanges[0].Ptr(),
				})
				continue
			}
			if h = add(name, hb.LabelRanges[0]); h == nil {
				continue
			}
		}
		l.decodeHost(hb, h, sc, hostDeploy)
	}
	if len(c.Hosts) == 0 && !broken && !l.diags[before:].HasErrors() {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cluster has no hosts",
			Detail:   fmt.Sprintf(`Cluster %q needs hosts = ["web[1:2].example.org"], count = N, or host "NAME" {} blocks.`, c.Name),
			Subject:  b.DefRange.Ptr(),
		})
	}
	return c
}

// validHost is the set of characters a host name (or address) in a host
// block label may use.
func validHost(name string) bool {
	for _, ch := range name {
		if ch == '[' || ch == ']' || ch == ' ' || ch == '\t' || ch == '/' {
			return false
		}
	}
	return name != ""
}

type hostPattern struct {
	pattern string
	rng     hcl.Range
}

// hostPatterns evaluates the hosts list, element by element when it is
// written as a list so that a bad range points at its own string.
func (l *loader) hostPatterns(at *hcl.Attribute, sc scope) ([]hostPattern, bool) {
	var out []hostPattern
	good := true
	if exprs, d := hcl.ExprList(at.Expr); !d.HasErrors() {
		for _, e := range exprs {
			v, ok := l.eval(e, sc)
			if !ok {
				good = false
				continue
			}
			s, err := convert.Convert(v, cty.String)
			if err != nil || s.IsNull() {
				l.add(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Incorrect attribute value type",
					Detail:   "Each element of hosts is a host name (string), like \"web[1:12].example.org\".",
					Subject:  e.Range().Ptr(),
					Context:  at.Range.Ptr(),
				})
				good = false
				continue
			}
			out = append(out, hostPattern{s.AsString(), e.Range()})
		}
		return out, good
	}
	names, good := l.strings(at, sc)
	for _, n := range names {
		out = append(out, hostPattern{n, at.Expr.Range()})
	}
	return out, good
}

func (l *loader) decodeHost(b *hcl.Block, h *platform.Host, sc scope, hostDeploy map[*platform.Host]*hcl.Attribute) {
	content, diags := b.Body.Content(hostSchema)
	l.add(diags...)
	a := content.Attributes
	if at := a["address"]; at != nil {
		if s, ok := l.str(at, sc); ok && s != "" {
			h.Address = s
		}
	}
	if at := a["port"]; at != nil {
		if p, ok := l.integer(at, sc, 1, 65535); ok {
			h.Port = p
		}
	}
	if at := a["roles"]; at != nil {
		roles, _ := l.strings(at, sc)
		for _, r := range roles {
			h.Roles = appendNew(h.Roles, r)
		}
	}
	if at := a["vars"]; at != nil {
		h.Vars, _ = l.stringMap(at, sc)
	}
	if at := a["deploy_to"]; at != nil {
		hostDeploy[h] = at
	}
}

func appendNew(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}
