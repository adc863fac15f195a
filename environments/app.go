package environments

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/plat-sh/plat/platform"
)

var appSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "buildpack"}, {Name: "private"}, {Name: "restart"},
		{Name: "linked_dirs"}, {Name: "linked_files"}, {Name: "env"}, {Name: "console"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "source"},
		{Type: "task", LabelNames: []string{"name"}},
		{Type: "health"},
		{Type: "secret", LabelNames: []string{"name"}},
	},
}

var sourceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "git"}, {Name: "branch"}, {Name: "ref"}, {Name: "submodules"}, {Name: "dir"},
	},
}

var taskSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "when", Required: true}, {Name: "run", Required: true}, {Name: "role"}, {Name: "timeout"},
	},
}

var healthSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "http"}, {Name: "tcp"}, {Name: "command"}, {Name: "port"},
		{Name: "status"}, {Name: "timeout"}, {Name: "interval"}, {Name: "retries"},
	},
}

func (l *loader) decodeApp(b *hcl.Block) *platform.App {
	l.appName = b.Labels[0]
	app := &platform.App{Name: b.Labels[0]}
	if app.Name == "" {
		l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty app name", Detail: `The app block needs a name: app "myapp" { ... }.`, Subject: b.LabelRanges[0].Ptr()})
	}
	s := scope{app: true}
	content, diags := b.Body.Content(appSchema)
	l.add(diags...)
	a := content.Attributes

	if at := a["buildpack"]; at != nil {
		app.Buildpacks = l.buildpacks(at, s)
	}
	l.appPrivate = a["private"]
	if at := a["restart"]; at != nil {
		app.Restart, _ = l.argv(at, s)
	}
	if at := a["console"]; at != nil {
		app.Console, _ = l.argv(at, s)
	}
	if at := a["linked_dirs"]; at != nil {
		app.LinkedDirs, _ = l.strings(at, s)
	}
	if at := a["linked_files"]; at != nil {
		app.LinkedFiles, _ = l.strings(at, s)
	}
	if at := a["env"]; at != nil {
		app.Environ, _ = l.stringMap(at, s)
	}

	l.checkSecretNames(content.Blocks)
	var sourceSeen, healthSeen *hcl.Block
	tasks := map[string]*hcl.Block{}
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "source":
			if l.single(blk, sourceSeen) {
				sourceSeen = blk
				app.Source = l.decodeSource(blk, s)
			}
		case "health":
			if l.single(blk, healthSeen) {
				healthSeen = blk
				app.Health = l.decodeHealth(blk, s)
			}
		case "secret":
			l.appSecrets = append(l.appSecrets, blk)
		case "task":
			name := blk.Labels[0]
			if prev := tasks[name]; prev != nil {
				l.add(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate task name",
					Detail:   firstAt(fmt.Sprintf("Task %q", name), prev.DefRange),
					Subject:  blk.LabelRanges[0].Ptr(),
				})
				continue
			}
			tasks[name] = blk
			if t, ok := l.decodeTask(blk, s); ok {
				app.Tasks = append(app.Tasks, t)
			}
		}
	}
	l.appHealth = app.Health
	return app
}

// single reports a repeated block that may appear once; it returns true
// for the first one.
func (l *loader) single(b, prev *hcl.Block) bool {
	if prev == nil {
		return true
	}
	l.add(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s block", b.Type),
		Detail:   fmt.Sprintf("Only one %s block is allowed here; the first is at %s:%d.", b.Type, prev.DefRange.Filename, prev.DefRange.Start.Line),
		Subject:  b.DefRange.Ptr(),
	})
	return false
}

// buildpacks accepts a string or a list of strings.
func (l *loader) buildpacks(at *hcl.Attribute, s scope) []string {
	v, ok := l.eval(at.Expr, s)
	if !ok || v.IsNull() {
		return nil
	}
	if v.Type() == cty.String {
		return []string{v.AsString()}
	}
	lv, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || lv.IsNull() {
		l.add(typeError(at, "a string or a list of strings", nil))
		return nil
	}
	var out []string
	for it := lv.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			l.add(typeError(at, "a string or a list of strings", nil))
			return nil
		}
		out = append(out, e.AsString())
	}
	if len(out) > 1 && slices.Contains(out, "none") {
		l.invalid(at, "Invalid buildpack list", `buildpack = "none" deploys the tree as it is (processes from its Procfile) and stands alone; remove "none" from the list, or the other buildpacks.`)
		return nil
	}
	return out
}

func (l *loader) decodeSource(b *hcl.Block, s scope) platform.Source {
	var src platform.Source
	content, diags := b.Body.Content(sourceSchema)
	l.add(diags...)
	a := content.Attributes
	if at := a["git"]; at != nil {
		src.Git, _ = l.str(at, s)
	}
	if at := a["branch"]; at != nil {
		src.Branch, _ = l.str(at, s)
	}
	if at := a["ref"]; at != nil {
		src.Ref, _ = l.str(at, s)
	}
	if at := a["submodules"]; at != nil {
		src.Submodules, _ = l.boolean(at, s)
	}
	if at := a["dir"]; at != nil {
		src.Dir, _ = l.str(at, s)
	}
	return src
}

func (l *loader) decodeTask(b *hcl.Block, s scope) (platform.Task, bool) {
	t := platform.Task{Name: b.Labels[0]}
	content, diags := b.Body.Content(taskSchema)
	l.add(diags...)
	ok := !diags.HasErrors()
	a := content.Attributes
	if at := a["when"]; at != nil {
		w, good := l.oneOf(at, s, "Invalid task phase", string(platform.PhaseBuild), string(platform.PhaseRelease), string(platform.PhaseManual))
		t.When = platform.TaskPhase(w)
		ok = ok && good
	}
	if at := a["run"]; at != nil {
		var good bool
		t.Run, good = l.argv(at, s)
		ok = ok && good
	}
	if at := a["role"]; at != nil {
		t.Role, _ = l.str(at, s)
	}
	if at := a["timeout"]; at != nil {
		t.Timeout, _ = l.duration(at, s)
	}
	return t, ok
}

// decodeHealth decodes an app or rollout health block.
func (l *loader) decodeHealth(b *hcl.Block, s scope) *platform.HealthCheck {
	h := &platform.HealthCheck{
		Timeout:  platform.DefaultHealthTimeout,
		Interval: platform.DefaultHealthInterval,
		Retries:  platform.DefaultHealthRetries,
	}
	content, diags := b.Body.Content(healthSchema)
	l.add(diags...)
	a := content.Attributes
	var kinds []*hcl.Attribute
	if at := a["http"]; at != nil {
		if p, ok := l.str(at, s); ok {
			if len(p) == 0 || p[0] != '/' {
				l.invalid(at, "Invalid health check path", fmt.Sprintf("http is the path to request and starts with \"/\", like \"/healthz\", not %q.", p))
			}
			h.HTTP = p
		}
		kinds = append(kinds, at)
	}
	if at := a["tcp"]; at != nil {
		if v, ok := l.boolean(at, s); ok && v {
			h.TCP = true
			kinds = append(kinds, at)
		}
	}
	if at := a["command"]; at != nil {
		h.Command, _ = l.argv(at, s)
		kinds = append(kinds, at)
	}
	switch {
	case len(kinds) == 0:
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing health check kind",
			Detail:   `A health block needs one of http = "/path", tcp = true or command = [...].`,
			Subject:  b.DefRange.Ptr(),
		})
	case len(kinds) > 1:
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Conflicting health checks",
			Detail:   fmt.Sprintf("A health block has one of http, tcp or command; %s is set too (line %d).", kinds[0].Name, kinds[0].Range.Start.Line),
			Subject:  kinds[1].Range.Ptr(),
		})
	}
	if at := a["port"]; at != nil {
		h.Port, _ = l.integer(at, s, 1, 65535)
	}
	if at := a["status"]; at != nil {
		h.Status, _ = l.integer(at, s, 100, 599)
	}
	if at := a["timeout"]; at != nil {
		if d, ok := l.duration(at, s); ok {
			h.Timeout = d
		}
	}
	if at := a["interval"]; at != nil {
		if d, ok := l.duration(at, s); ok {
			h.Interval = d
		}
	}
	if at := a["retries"]; at != nil {
		if n, ok := l.integer(at, s, 1, 1<<31-1); ok {
			h.Retries = n
		}
	}
	return h
}
