package environments

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/hcl/v2"
)

// Origin says where one setting of an environment comes from, inheritance
// applied: the environment block that set it and its file:line, which for
// a git source names the source and commit (ops@3f2a1c9:prod.hcl:4).
type Origin struct {
	// Field is the setting: an attribute (deploy_to), a block type
	// (provider, rollout, hook) or one cluster (cluster web).
	Field string
	// Env is the environment block that set it: the environment itself,
	// a parent, or a shared one (ops.generic-prod).
	Env string
	// Where is file:line of the attribute or block.
	Where string
}

// Sources returns the shared sources the load used, in the order of
// plat.hcl.
func (f *Files) Sources() []Source {
	if f == nil {
		return nil
	}
	out := make([]Source, len(f.sources))
	for i, s := range f.sources {
		out[i] = *s
	}
	return out
}

// LockWritten reports whether the load wrote the lock file.
func (f *Files) LockWritten() bool { return f != nil && f.lockWritten }

// Origins returns where each setting of environment env comes from;
// settings left at their defaults are not listed.
func (f *Files) Origins(env string) []Origin {
	if f == nil {
		return nil
	}
	return f.origins[env]
}

// recordOrigins notes, for every environment of plat.hcl, which block
// set each of its effective attributes and nested blocks.
func (l *loader) recordOrigins(specs map[string]*envSpec, order []*envSpec) {
	attrOwner := map[*hcl.Attribute]string{}
	blockOwner := map[*hcl.Block]string{}
	for name, s := range specs {
		for _, a := range s.own.Attributes {
			attrOwner[a] = name
		}
		for _, b := range s.own.Blocks {
			blockOwner[b] = name
		}
	}
	where := func(r hcl.Range) string { return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line) }
	l.origins = map[string][]Origin{}
	for _, s := range order {
		var out []Origin
		if s.inherits != nil {
			out = append(out, Origin{Field: "inherits", Env: s.name, Where: where(s.inherits.Range)})
		}
		for _, k := range sortedKeys(s.attrs) {
			a := s.attrs[k]
			out = append(out, Origin{Field: k, Env: attrOwner[a], Where: where(a.Range)})
		}
		for _, typ := range append(append([]string(nil), inheritedBlocks...), "secret") {
			for _, b := range s.blocks[typ] {
				field := typ
				if len(b.Labels) > 0 {
					field += " " + b.Labels[0]
				}
				out = append(out, Origin{Field: field, Env: blockOwner[b], Where: where(b.DefRange)})
			}
		}
		l.origins[s.name] = out
	}
}

// DescribeOrigins renders, for `plat env show`, where each setting of env
// comes from and the shared sources of the load; "" when the project
// uses no shared source.
func DescribeOrigins(f *Files, env string) string {
	srcs := f.Sources()
	if len(srcs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\norigins\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, o := range f.Origins(env) {
		fmt.Fprintf(tw, "  %s\t%s\t(%s)\n", o.Field, o.Where, o.Env)
	}
	tw.Flush()
	b.WriteString("\nshared sources\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, s := range srcs {
		if s.Git != "" {
			fmt.Fprintf(tw, "  %s\t%s\tcommit %s\t%s\n", s.Name, s.Git, s.Commit, s.Dir)
		} else {
			fmt.Fprintf(tw, "  %s\tpath %s\t-\t%s\n", s.Name, s.Path, s.Dir)
		}
	}
	tw.Flush()
	return b.String()
}
