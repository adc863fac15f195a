package environments

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/plat-sh/plat/platform"
)

var rolloutSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "stages"}, {Name: "pause"}, {Name: "max_parallel"},
		{Name: "on_failure"}, {Name: "max_failures"}, {Name: "drain_timeout"},
		{Name: "restart"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "health"}},
}

var hookSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "run", Required: true}, {Name: "on"}},
}

// allStages is the stage that covers every host.
const allStages = platform.DefaultStage

var hookEvents = []string{
	string(platform.HookStarting), string(platform.HookUploaded), string(platform.HookSwitched),
	string(platform.HookFinished), string(platform.HookFailed), string(platform.HookRolledBack),
}

// decodeRollout decodes the (at most one) rollout block, or returns the
// default policy.
func (l *loader) decodeRollout(blocks []*hcl.Block, sc scope) platform.Rollout {
	r := platform.Rollout{Stages: []string{allStages}, OnFailure: platform.OnFailureRollback, Restart: platform.RestartStopStart}
	if l.appHealth != nil {
		h := *l.appHealth
		r.Health = &h
	}
	if len(blocks) == 0 {
		return r
	}
	for _, b := range blocks[1:] {
		l.single(b, blocks[0])
	}
	content, diags := blocks[0].Body.Content(rolloutSchema)
	l.add(diags...)
	a := content.Attributes
	if at := a["stages"]; at != nil {
		if st, ok := l.stages(at, sc); ok {
			r.Stages = st
		}
	}
	if at := a["pause"]; at != nil {
		if s, ok := l.str(at, sc); ok {
			if s == "confirm" {
				r.Confirm = true
			} else if d, ok := l.parseDuration(at, s); ok {
				r.Pause = d
			}
		}
	}
	if at := a["max_parallel"]; at != nil {
		r.MaxParallel, _ = l.integer(at, sc, 0, 1<<31-1)
	}
	if at := a["on_failure"]; at != nil {
		if s, ok := l.oneOf(at, sc, "Invalid on_failure", platform.OnFailureRollback, platform.OnFailureHalt); ok {
			r.OnFailure = s
		}
	}
	if at := a["max_failures"]; at != nil {
		if v, ok := l.eval(at.Expr, sc); ok && !v.IsNull() {
			if s, ok := countOrPercent(v, true); ok {
				r.MaxFailures = s
			} else {
				l.invalid(at, "Invalid max_failures", fmt.Sprintf("max_failures is a host count (0, 1, 2, ...) or a percentage (\"10%%\"), not %s.", show(v)))
			}
		}
	}
	if at := a["drain_timeout"]; at != nil {
		r.DrainTimeout, _ = l.duration(at, sc)
	}
	if at := a["restart"]; at != nil {
		if s, ok := l.oneOf(at, sc, "Invalid restart", platform.RestartStopStart, platform.RestartOverlap); ok {
			r.Restart = s
		}
	}
	for i, hb := range content.Blocks {
		if i > 0 {
			l.single(hb, content.Blocks[0])
			continue
		}
		r.Health = l.decodeHealth(hb, sc)
	}
	return r
}

// stages decodes the stage list; each element is checked on its own so a
// bad one is pointed at.
func (l *loader) stages(at *hcl.Attribute, sc scope) ([]string, bool) {
	type elem struct {
		v   cty.Value
		rng hcl.Range
	}
	var elems []elem
	if exprs, d := hcl.ExprList(at.Expr); !d.HasErrors() {
		for _, e := range exprs {
			v, ok := l.eval(e, sc)
			if !ok {
				return nil, false
			}
			elems = append(elems, elem{v, e.Range()})
		}
	} else {
		v, ok := l.eval(at.Expr, sc)
		if !ok || v.IsNull() {
			return nil, false
		}
		if !v.CanIterateElements() || v.Type().IsMapType() || v.Type().IsObjectType() {
			l.add(typeError(at, "a list of stages", nil))
			return nil, false
		}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			elems = append(elems, elem{e, at.Expr.Range()})
		}
	}
	if len(elems) == 0 {
		l.invalid(at, "Invalid rollout stage", "stages needs at least one stage, like [1, \"25%\", \"100%\"].")
		return nil, false
	}
	var out []string
	ok := true
	for _, e := range elems {
		s, good := countOrPercent(e.v, false)
		if !good {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid rollout stage",
				Detail:   fmt.Sprintf("A stage is a number of hosts (1, 2, ...) or a percentage of them (\"25%%\", at most \"100%%\"), not %s.", show(e.v)),
				Subject:  e.rng.Ptr(),
				Context:  at.Range.Ptr(),
			})
			ok = false
			continue
		}
		out = append(out, s)
	}
	if !ok {
		return nil, false
	}
	if out[len(out)-1] != allStages {
		out = append(out, allStages)
	}
	return out, true
}

// countOrPercent normalizes a host count (number or digit string) or a
// percentage string "N%" to its string form. Zero is allowed only with
// zeroOK, and percentages are in (0, 100] (or [0, 100] with zeroOK).
func countOrPercent(v cty.Value, zeroOK bool) (string, bool) {
	var s string
	switch v.Type() {
	case cty.Number:
		f := v.AsBigFloat()
		if !f.IsInt() {
			return "", false
		}
		s = f.Text('f', 0)
	case cty.String:
		s = strings.TrimSpace(v.AsString())
	default:
		return "", false
	}
	pct := strings.HasSuffix(s, "%")
	digits := strings.TrimSuffix(s, "%")
	if !isDigits(digits) {
		return "", false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || (n == 0 && !zeroOK) || (pct && n > 100) {
		return "", false
	}
	if pct {
		return strconv.Itoa(n) + "%", true
	}
	return strconv.Itoa(n), true
}

// show renders a value for a message: strings quoted, numbers plain.
func show(v cty.Value) string {
	switch {
	case v.IsNull():
		return "null"
	case v.Type() == cty.String:
		return strconv.Quote(v.AsString())
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case v.Type() == cty.Bool:
		return strconv.FormatBool(v.True())
	}
	return "a " + v.Type().FriendlyName()
}

func (l *loader) decodeHook(b *hcl.Block, sc scope) (platform.Hook, bool) {
	h := platform.Hook{Event: platform.HookEvent(b.Labels[0])}
	ok := true
	known := false
	for _, e := range hookEvents {
		known = known || e == b.Labels[0]
	}
	if !known {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown hook event",
			Detail:   fmt.Sprintf("There is no hook event %q.%s Events: %s.", b.Labels[0], suggest(b.Labels[0], hookEvents), strings.Join(hookEvents, ", ")),
			Subject:  b.LabelRanges[0].Ptr(),
		})
		ok = false
	}
	content, diags := b.Body.Content(hookSchema)
	l.add(diags...)
	ok = ok && !diags.HasErrors()
	if at := content.Attributes["run"]; at != nil {
		var good bool
		h.Run, good = l.argv(at, sc)
		ok = ok && good
	}
	if at := content.Attributes["on"]; at != nil {
		on, good := l.oneOf(at, sc, "Invalid hook target", "local", "hosts")
		h.OnHost = on == "hosts"
		ok = ok && good
	}
	return h, ok
}
