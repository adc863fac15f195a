package environments

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// envVarPrefix marks process environment variables that set input variables.
const envVarPrefix = "PLAT_VAR_"

// variable is one declared input variable and its resolved value.
type variable struct {
	name        string
	block       *hcl.Block
	typ         cty.Type
	description string
	hasDefault  bool
	given       bool // some source (default, env, file, flag) set it
	value       cty.Value
	ok          bool // value is set and valid
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}},
}

// loadVariables declares the variables and resolves their values, lowest
// precedence first: default, PLAT_VAR_*, var files, --var.
func (l *loader) loadVariables(blocks []*hcl.Block) {
	l.vars = map[string]*variable{}
	for _, b := range blocks {
		name := b.Labels[0]
		if prev := l.vars[name]; prev != nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate variable",
				Detail:   firstAt(fmt.Sprintf("Variable %q", name), prev.block.DefRange),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		if !hclsyntax.ValidIdentifier(name) {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid variable name",
				Detail:   "A variable name starts with a letter and contains only letters, digits, underscores and dashes.",
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		v := &variable{name: name, block: b, typ: cty.DynamicPseudoType, value: cty.DynamicVal}
		l.vars[name] = v
		l.varOrder = append(l.varOrder, name)

		content, diags := b.Body.Content(variableSchema)
		l.add(diags...)
		if a := content.Attributes["type"]; a != nil {
			ty, d := typeexpr.TypeConstraint(a.Expr)
			l.add(d...)
			if !d.HasErrors() {
				v.typ = ty
			}
		}
		if a := content.Attributes["description"]; a != nil {
			if s, ok := l.str(a, scope{noVars: true}); ok {
				v.description = s
			}
		}
		if a := content.Attributes["default"]; a != nil {
			v.hasDefault, v.given = true, true
			if val, ok := l.eval(a.Expr, scope{noVars: true}); ok {
				v.set(l, val, a.Expr.Range().Ptr(), "default value")
			}
		}
	}

	for _, kv := range l.opts.Environ {
		k, raw, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, envVarPrefix) {
			continue
		}
		name := strings.TrimPrefix(k, envVarPrefix)
		v := l.vars[name]
		if v == nil {
			continue // like Terraform: the environment may hold other projects' variables
		}
		l.setRaw(v, raw, "environment variable "+k)
	}

	for _, path := range l.opts.VarFiles {
		l.loadVarFile(path)
	}

	for _, name := range sortedKeys(l.opts.Vars) {
		v := l.vars[name]
		if v == nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("--var %s=... sets a variable that %s does not declare.%s Declare it with a variable %q {} block, or drop the flag.", name, l.path, suggest(name, l.varOrder), name),
			})
			continue
		}
		l.setRaw(v, l.opts.Vars[name], "--var "+name)
	}

	attrs := map[string]cty.Value{}
	for _, name := range l.varOrder {
		v := l.vars[name]
		if !v.given {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail:   fmt.Sprintf("Variable %q has no default. Set it with --var %s=VALUE, in a --var-file, or with the environment variable %s%s.", name, name, envVarPrefix, name),
				Subject:  v.block.DefRange.Ptr(),
			})
		}
		attrs[name] = v.value
	}
	l.varObj = cty.ObjectVal(attrs)
}

// set converts val to the variable's type; rng locates the value.
func (v *variable) set(l *loader, val cty.Value, rng *hcl.Range, what string) {
	v.given = true
	cv, err := convert.Convert(val, v.typ)
	if err != nil {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The %s of variable %q is not valid: %s.", what, v.name, err),
			Subject:  rng,
		})
		v.value, v.ok = cty.UnknownVal(v.typ), false
		return
	}
	v.value, v.ok = cv, true
}

// setRaw sets v from a string given outside any file. Primitive and
// untyped variables take it literally; others parse it as an expression.
func (l *loader) setRaw(v *variable, raw, what string) {
	if v.typ.IsPrimitiveType() || v.typ == cty.DynamicPseudoType {
		v.set(l, cty.StringVal(raw), nil, "value from "+what)
		return
	}
	filename := fmt.Sprintf("<value for var.%s>", v.name)
	expr, diags := hclsyntax.ParseExpression([]byte(raw), filename, hcl.InitialPos)
	l.files[filename] = &hcl.File{Bytes: []byte(raw)}
	l.add(diags...)
	if diags.HasErrors() {
		v.given, v.value, v.ok = true, cty.UnknownVal(v.typ), false
		return
	}
	val, ok := l.eval(expr, scope{noVars: true})
	if !ok {
		v.given, v.value, v.ok = true, cty.UnknownVal(v.typ), false
		return
	}
	v.set(l, val, expr.Range().Ptr(), "value from "+what)
}

// loadVarFile applies one --var-file.
func (l *loader) loadVarFile(path string) {
	f, diags := l.parser.ParseHCLFile(path)
	l.add(diags...)
	if f == nil {
		if len(diags) == 0 {
			l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read variables file", Detail: fmt.Sprintf("Reading %s failed.", path)})
		}
		return
	}
	l.files[path] = f
	if diags.HasErrors() {
		return
	}
	attrs, diags := f.Body.JustAttributes()
	l.add(diags...)
	for _, a := range sortedAttrs(attrs) {
		v := l.vars[a.Name]
		if v == nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("%s does not declare a variable named %q.%s Declare it with a variable %q {} block, or remove it from %s.", l.path, a.Name, suggest(a.Name, l.varOrder), a.Name, path),
				Subject:  a.NameRange.Ptr(),
			})
			continue
		}
		if val, ok := l.eval(a.Expr, scope{noVars: true}); ok {
			v.set(l, val, a.Expr.Range().Ptr(), "value in "+path)
		} else {
			v.given, v.value, v.ok = true, cty.UnknownVal(v.typ), false
		}
	}
}

// sortedAttrs orders attributes as they appear in the source.
func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Range.Start.Byte < out[j-1].Range.Start.Byte; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
