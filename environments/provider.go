package environments

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/plat-sh/plat/platform"
)

// decodeProvider decodes a provider block against the schema its type
// registered in Options.Providers.
func (l *loader) decodeProvider(b *hcl.Block, sc scope) platform.ProviderConfig {
	cfg := platform.ProviderConfig{Type: b.Labels[0], Values: map[string]any{}, Where: map[string]string{}}
	if r := b.LabelRanges[0]; r.Filename != "" {
		cfg.Where[""] = fmt.Sprintf("%s:%d:%d", relPath(l.dir, r.Filename), r.Start.Line, r.Start.Column)
	}
	if l.opts.Providers == nil {
		attrs, diags := b.Body.JustAttributes()
		l.add(diags...)
		for _, a := range sortedAttrs(attrs) {
			if v, ok := l.eval(a.Expr, sc); ok && !v.IsNull() {
				cfg.Values[a.Name] = toGo(v)
			}
		}
		return cfg
	}
	schema, ok := l.opts.Providers[cfg.Type]
	if !ok {
		known := sortedKeys(l.opts.Providers)
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown provider type",
			Detail:   fmt.Sprintf("There is no provider %q.%s Known providers: %s; others come as plugins named plat-provider-<type>.", cfg.Type, suggest(cfg.Type, known), strings.Join(known, ", ")),
			Subject:  b.LabelRanges[0].Ptr(),
		})
		return cfg
	}
	bs := &hcl.BodySchema{}
	types := map[string]platform.AttrType{}
	for _, at := range schema.Attributes {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: at.Name, Required: at.Required})
		types[at.Name] = at.Type
	}
	content, diags := b.Body.Content(bs)
	l.add(diags...)
	for _, a := range sortedAttrs(content.Attributes) {
		r := a.Expr.Range()
		cfg.Where[a.Name] = fmt.Sprintf("%s:%d:%d", relPath(l.dir, r.Filename), r.Start.Line, r.Start.Column)
		switch types[a.Name] {
		case platform.TypeDuration:
			if v, ok := l.str(a, sc); ok {
				if _, ok := l.parseDuration(a, v); ok {
					cfg.Values[a.Name] = v
				}
			}
		case platform.TypeString:
			if v, ok := l.str(a, sc); ok {
				cfg.Values[a.Name] = v
			}
		case platform.TypeNumber:
			if v, ok := l.typed(a, sc, cty.Number, "number"); ok {
				f, _ := v.AsBigFloat().Float64()
				cfg.Values[a.Name] = f
			}
		case platform.TypeBool:
			if v, ok := l.boolean(a, sc); ok {
				cfg.Values[a.Name] = v
			}
		case platform.TypeStringList:
			if v, ok := l.strings(a, sc); ok {
				cfg.Values[a.Name] = v
			}
		case platform.TypeStringMap:
			if v, ok := l.stringMap(a, sc); ok {
				cfg.Values[a.Name] = v
			}
		default:
			if v, ok := l.eval(a.Expr, sc); ok && !v.IsNull() {
				cfg.Values[a.Name] = toGo(v)
			}
		}
	}
	return cfg
}
