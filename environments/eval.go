package environments

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// scope says which names an expression may refer to.
type scope struct {
	noVars bool   // variable defaults and var-files: constants only
	env    string // env.name; "" means env.* is not in scope
	app    bool   // app.name
	host   *hostRef
}

// hostRef is the host in scope of a deploy_to expression.
type hostRef struct{ name, address string }

// functions are the go-cty stdlib functions under Terraform's names.
func functions() map[string]function.Function {
	return map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"csvdecode":       stdlib.CSVDecodeFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          stdlib.IndentFunc,
		"index":           stdlib.IndexFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"log":             stdlib.LogFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"pow":             stdlib.PowFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"regex_replace":   stdlib.RegexReplaceFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"signum":          stdlib.SignumFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strlen":          stdlib.StrlenFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
}

// evalContext builds the evaluation context of a scope.
func (l *loader) evalContext(s scope) *hcl.EvalContext {
	if s.noVars {
		return nil
	}
	vars := map[string]cty.Value{
		"var":   l.varObj,
		"local": l.localObj(),
	}
	if s.env != "" {
		vars["env"] = cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(s.env)})
	}
	if s.app {
		vars["app"] = cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(l.appName)})
	}
	if s.host != nil {
		vars["host"] = cty.ObjectVal(map[string]cty.Value{
			"name":    cty.StringVal(s.host.name),
			"address": cty.StringVal(s.host.address),
		})
	}
	return &hcl.EvalContext{Variables: vars, Functions: functions()}
}

// localObj is the local.* object; locals not evaluated yet (or broken)
// are unknown, which silences follow-up errors.
func (l *loader) localObj() cty.Value {
	if len(l.localDefs) == 0 {
		return cty.EmptyObjectVal
	}
	m := make(map[string]cty.Value, len(l.localDefs))
	for name := range l.localDefs {
		if v, ok := l.locals[name]; ok {
			m[name] = v
		} else {
			m[name] = cty.DynamicVal
		}
	}
	return cty.ObjectVal(m)
}

// checkRefs reports references that are not in scope, with messages that
// say where a name is available.
func (l *loader) checkRefs(expr hcl.Expression, s scope) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if s.noVars {
		return nil // HCL itself says "Variables not allowed".
	}
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		rng := tr.SourceRange()
		attr := ""
		if len(tr) > 1 {
			if a, ok := tr[1].(hcl.TraverseAttr); ok {
				attr = a.Name
			}
		}
		bad := func(summary, detail string) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()})
		}
		switch root {
		case "var":
			if attr != "" && l.vars[attr] == nil {
				bad("Reference to undeclared input variable",
					fmt.Sprintf("An input variable named %q is not declared.%s Declare it with a variable %q {} block.", attr, suggest(attr, l.varOrder), attr))
			}
		case "local":
			if attr != "" && l.localDefs[attr] == nil {
				bad("Reference to undeclared local value",
					fmt.Sprintf("A local value named %q is not declared.%s", attr, suggest(attr, sortedKeys(l.localDefs))))
			}
		case "env":
			if s.env == "" {
				bad("Invalid reference", "env.* is only available inside environment blocks and in app.private.")
			}
		case "app":
			if !s.app {
				bad("Invalid reference", "app.* is only available inside the app and environment blocks.")
			}
		case "host":
			if s.host == nil {
				bad("Invalid reference", "host.* is only available in deploy_to, which is evaluated once per host.")
			}
		default:
			bad("Unknown variable", fmt.Sprintf("There is no variable named %q. Expressions may use var.*, local.*, env.name, app.name and, in deploy_to, host.name and host.address.", root))
		}
	}
	return diags
}

// eval evaluates expr in scope s. ok is false when the value is unusable
// (an error was reported, or it is unknown because of an earlier error).
// A null value is returned with ok true.
func (l *loader) eval(expr hcl.Expression, s scope) (cty.Value, bool) {
	if d := l.checkRefs(expr, s); d.HasErrors() {
		l.add(d...)
		return cty.DynamicVal, false
	}
	v, d := expr.Value(l.evalContext(s))
	l.add(d...)
	if d.HasErrors() || !v.IsWhollyKnown() {
		return cty.DynamicVal, false
	}
	return v, true
}

// typeError is the diagnostic for a value of the wrong type.
func typeError(attr *hcl.Attribute, want string, err error) *hcl.Diagnostic {
	detail := fmt.Sprintf("Inappropriate value for attribute %q: %s required.", attr.Name, want)
	if err != nil {
		detail = fmt.Sprintf("Inappropriate value for attribute %q: %s.", attr.Name, err)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Incorrect attribute value type",
		Detail:   detail,
		Subject:  attr.Expr.Range().Ptr(),
		Context:  attr.Range.Ptr(),
	}
}

// invalid reports a well-typed but unacceptable value of attr.
func (l *loader) invalid(attr *hcl.Attribute, summary, detail string) {
	l.add(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  attr.Expr.Range().Ptr(),
		Context:  attr.Range.Ptr(),
	})
}

// typed evaluates attr and converts it to ty; ok is false on error or
// null (null means unset).
func (l *loader) typed(attr *hcl.Attribute, s scope, ty cty.Type, want string) (cty.Value, bool) {
	v, ok := l.eval(attr.Expr, s)
	if !ok || v.IsNull() {
		return v, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		l.add(typeError(attr, want, err))
		return cv, false
	}
	if !cv.IsWhollyKnown() {
		return cv, false
	}
	if cv.Type().IsCollectionType() && !cv.IsNull() {
		for it := cv.ElementIterator(); it.Next(); {
			if _, e := it.Element(); e.IsNull() {
				l.add(typeError(attr, want+" without null elements", nil))
				return cv, false
			}
		}
	}
	return cv, true
}

func (l *loader) str(attr *hcl.Attribute, s scope) (string, bool) {
	v, ok := l.typed(attr, s, cty.String, "string")
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

func (l *loader) boolean(attr *hcl.Attribute, s scope) (bool, bool) {
	v, ok := l.typed(attr, s, cty.Bool, "bool")
	if !ok {
		return false, false
	}
	return v.True(), true
}

// integer evaluates a whole number in [min, max].
func (l *loader) integer(attr *hcl.Attribute, s scope, min, max int) (int, bool) {
	v, ok := l.typed(attr, s, cty.Number, "number")
	if !ok {
		return 0, false
	}
	return l.checkInt(attr, v.AsBigFloat(), min, max)
}

func (l *loader) checkInt(attr *hcl.Attribute, f *big.Float, min, max int) (int, bool) {
	if !f.IsInt() {
		l.invalid(attr, "Invalid number", fmt.Sprintf("%q must be a whole number, not %s.", attr.Name, f.Text('f', -1)))
		return 0, false
	}
	i, acc := f.Int64()
	if acc != big.Exact || i < int64(min) || i > int64(max) {
		rng := fmt.Sprintf("at least %d", min)
		if max < 1<<31-1 {
			rng = fmt.Sprintf("between %d and %d", min, max)
		}
		l.invalid(attr, "Invalid number", fmt.Sprintf("%q must be %s, not %s.", attr.Name, rng, f.Text('f', -1)))
		return 0, false
	}
	return int(i), true
}

func (l *loader) strings(attr *hcl.Attribute, s scope) ([]string, bool) {
	v, ok := l.typed(attr, s, cty.List(cty.String), "list of strings")
	if !ok {
		return nil, false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return out, true
}

// argv is a non-empty list of strings (a command).
func (l *loader) argv(attr *hcl.Attribute, s scope) ([]string, bool) {
	out, ok := l.strings(attr, s)
	if ok && len(out) == 0 {
		l.invalid(attr, "Empty command", fmt.Sprintf("%q needs at least the program to run, like [\"sh\", \"-c\", \"...\"].", attr.Name))
		return nil, false
	}
	return out, ok
}

func (l *loader) stringMap(attr *hcl.Attribute, s scope) (map[string]string, bool) {
	v, ok := l.typed(attr, s, cty.Map(cty.String), "map of strings")
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		out[k.AsString()] = e.AsString()
	}
	return out, true
}

// duration parses a Go duration string such as "500ms" or "5m".
func (l *loader) duration(attr *hcl.Attribute, s scope) (time.Duration, bool) {
	str, ok := l.str(attr, s)
	if !ok {
		return 0, false
	}
	return l.parseDuration(attr, str)
}

func (l *loader) parseDuration(attr *hcl.Attribute, str string) (time.Duration, bool) {
	d, err := time.ParseDuration(str)
	if err != nil || d < 0 {
		l.invalid(attr, "Invalid duration", fmt.Sprintf("%q is not a duration: use a number and a unit, like \"500ms\", \"30s\" or \"5m\".", str))
		return 0, false
	}
	return d, true
}

// oneOf evaluates a string that must be one of allowed.
func (l *loader) oneOf(attr *hcl.Attribute, s scope, summary string, allowed ...string) (string, bool) {
	str, ok := l.str(attr, s)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if str == a {
			return str, true
		}
	}
	l.invalid(attr, summary, fmt.Sprintf("%q must be one of %s, not %q.", attr.Name, quoteList(allowed), str))
	return "", false
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// toGo renders a cty value as plain Go: string, bool, float64, []any,
// map[string]any, or nil.
func toGo(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, toGo(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = toGo(e)
		}
		return out
	}
	return nil
}

// suggest returns " Did you mean "x"?" for a close name, or "".
func suggest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := levenshtein(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// firstAt is the "first defined at" detail of a duplicate.
func firstAt(what string, r hcl.Range) string {
	return fmt.Sprintf("%s was first defined at %s:%d.", what, r.Filename, r.Start.Line)
}
