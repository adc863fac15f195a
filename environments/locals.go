package environments

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// loadLocals evaluates every locals block, dependencies first.
func (l *loader) loadLocals(blocks []*hcl.Block) {
	l.localDefs = map[string]*hcl.Attribute{}
	l.locals = map[string]cty.Value{}
	var order []string
	for _, b := range blocks {
		attrs, diags := b.Body.JustAttributes()
		l.add(diags...)
		for _, a := range sortedAttrs(attrs) {
			if prev := l.localDefs[a.Name]; prev != nil {
				l.add(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate local value",
					Detail:   firstAt(fmt.Sprintf("Local value %q", a.Name), prev.Range),
					Subject:  a.NameRange.Ptr(),
				})
				continue
			}
			l.localDefs[a.Name] = a
			order = append(order, a.Name)
		}
	}

	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	cyclic := map[string]bool{}
	var visit func(name string, stack []string)
	visit = func(name string, stack []string) {
		switch state[name] {
		case done:
			return
		case visiting:
			i := 0
			for stack[i] != name {
				i++
			}
			chain := append(append([]string{}, stack[i:]...), name)
			for _, n := range stack[i:] {
				cyclic[n] = true
			}
			a := l.localDefs[name]
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cycle in local values",
				Detail:   fmt.Sprintf("These local values refer to each other: %s.", "local."+strings.Join(chain, " -> local.")),
				Subject:  a.NameRange.Ptr(),
			})
			return
		}
		state[name] = visiting
		a := l.localDefs[name]
		for _, tr := range a.Expr.Variables() {
			if tr.RootName() != "local" || len(tr) < 2 {
				continue
			}
			if ta, ok := tr[1].(hcl.TraverseAttr); ok && l.localDefs[ta.Name] != nil {
				visit(ta.Name, append(stack, name))
			}
		}
		state[name] = done
		if cyclic[name] {
			l.locals[name] = cty.DynamicVal
			return
		}
		v, _ := l.eval(a.Expr, scope{})
		l.locals[name] = v
	}
	for _, name := range order {
		visit(name, nil)
	}
}
