package environments

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/plat-sh/plat/platform"
)

// Describe renders an environment, inheritance and defaults applied, for
// `plat env show`: its settings, every host, the rollout, the app's tasks
// and health check. The text is deterministic (maps sorted).
func Describe(p *platform.Project, env *platform.Environment) string {
	var b strings.Builder
	app := &platform.App{}
	if p != nil && p.App != nil {
		app = p.App
	}
	dir := ""
	if p != nil {
		dir = p.Dir
	}

	fmt.Fprintf(&b, "environment %s (app %s)\n", env.Name, app.Name)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
	if env.Inherits != "" {
		row("inherits", env.Inherits)
	}
	if env.Via != "" {
		row("via", env.Via)
	}
	row("provider", orDash(env.Provider.Type))
	for _, k := range sortedKeys(env.Provider.Values) {
		row("  "+k, renderAny(env.Provider.Values[k]))
	}
	row("deploy_to", orDash(env.DeployTo))
	row("keep_releases", strconv.Itoa(env.KeepReleases))
	row("processes", env.Processes)
	row("private", orDash(relPath(dir, env.Private)))
	envVars := mergedEnv(app, env)
	if len(envVars) == 0 {
		row("env", "-")
	}
	for i, k := range sortedKeys(envVars) {
		key := ""
		if i == 0 {
			key = "env"
		}
		row(key, k+"="+envVars[k])
	}
	for i, sec := range env.Secrets {
		key := ""
		if i == 0 {
			key = "secrets"
		}
		row(key, sec.Name+"=(secret) from "+secretSource(dir, sec))
	}
	tw.Flush()

	hosts := env.Hosts()
	fmt.Fprintf(&b, "\nhosts: %d in %d %s\n", len(hosts), len(env.Clusters), plural(len(env.Clusters), "cluster", "clusters"))
	if len(hosts) > 0 {
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  HOST\tCLUSTER\tROLES\tADDRESS\tPORT\tDEPLOY_TO\n")
		for _, h := range hosts {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.Cluster, orDash(strings.Join(h.Roles, ",")),
				h.Address, portString(h.Port), orDash(h.DeployTo))
			for _, k := range sortedKeys(h.Vars) {
				fmt.Fprintf(tw, "  \t\t\t\t\tvar %s=%s\n", k, h.Vars[k])
			}
		}
		tw.Flush()
	}

	r := env.Rollout
	b.WriteString("\nrollout\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, kv := range rolloutFields(r) {
		row(kv[0], kv[1])
	}
	tw.Flush()

	b.WriteString("\nhealth\n")
	fmt.Fprintf(&b, "  %s\n", healthString(app.Health))

	b.WriteString("\ntasks\n")
	if len(app.Tasks) == 0 {
		b.WriteString("  -\n")
	} else {
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, t := range app.Tasks {
			fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", t.Name, t.When, argvString(t.Run), taskExtras(t))
		}
		tw.Flush()
	}

	b.WriteString("\nhooks\n")
	if len(env.Hooks) == 0 {
		b.WriteString("  -\n")
	} else {
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, h := range env.Hooks {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", h.Event, hookWhere(h), argvString(h.Run))
		}
		tw.Flush()
	}
	return b.String()
}

// Diff renders the differences between two environments for
// `plat env diff A B`: a "--- A" / "+++ B" header, then for every field
// that differs a "- field: value in A" and/or a "+ field: value in B" line.
// Identical environments give the header and "  (no differences)".
func Diff(p *platform.Project, a, b *platform.Environment) string {
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", a.Name, b.Name)
	diffs := DiffFields(p, a, b)
	for _, d := range diffs {
		if d.InA {
			fmt.Fprintf(&out, "- %s: %s\n", d.Field, d.A)
		}
		if d.InB {
			fmt.Fprintf(&out, "+ %s: %s\n", d.Field, d.B)
		}
	}
	if len(diffs) == 0 {
		out.WriteString("  (no differences)\n")
	}
	return out.String()
}

// FieldDiff is one field that differs between two environments, with its
// value in each (as Diff shows it); InA or InB is false when only the
// other environment has the field.
type FieldDiff struct {
	Field    string
	A, B     string
	InA, InB bool
}

// DiffFields lists the fields that differ between a and b, in the order
// Diff prints them; none when they are the same.
func DiffFields(p *platform.Project, a, b *platform.Environment) []FieldDiff {
	dir := ""
	var app *platform.App
	if p != nil {
		dir, app = p.Dir, p.App
	}
	fa, fb := envFields(dir, app, a), envFields(dir, app, b)
	va, vb := fieldMap(fa), fieldMap(fb)
	var out []FieldDiff
	for _, sec := range fieldSections {
		var keys []string
		seen := map[string]bool{}
		for _, f := range [][]field{fa, fb} {
			for _, kv := range f {
				if kv.section == sec && !seen[kv.key] {
					seen[kv.key] = true
					keys = append(keys, kv.key)
				}
			}
		}
		for _, k := range keys {
			x, inA := va[k]
			y, inB := vb[k]
			if inA && inB && x == y {
				continue
			}
			out = append(out, FieldDiff{Field: k, A: x, B: y, InA: inA, InB: inB})
		}
	}
	return out
}

type field struct {
	section string
	key     string
	value   string
}

var fieldSections = []string{"settings", "provider", "env", "hosts", "rollout", "hooks"}

func fieldMap(fs []field) map[string]string {
	m := make(map[string]string, len(fs))
	for _, f := range fs {
		m[f.key] = f.value
	}
	return m
}

// envFields flattens an environment into comparable fields, in display order.
func envFields(dir string, app *platform.App, e *platform.Environment) []field {
	var fs []field
	add := func(sec, k, v string) { fs = append(fs, field{sec, k, v}) }
	add("settings", "inherits", orDash(e.Inherits))
	add("settings", "deploy_to", orDash(e.DeployTo))
	add("settings", "keep_releases", strconv.Itoa(e.KeepReleases))
	add("settings", "processes", e.Processes)
	add("settings", "private", orDash(relPath(dir, e.Private)))
	add("provider", "provider", orDash(e.Provider.Type))
	for _, k := range sortedKeys(e.Provider.Values) {
		add("provider", "provider."+k, renderAny(e.Provider.Values[k]))
	}
	if app == nil {
		app = &platform.App{}
	}
	env := mergedEnv(app, e)
	for _, k := range sortedKeys(env) {
		add("env", "env."+k, env[k])
	}
	for _, sec := range e.Secrets {
		add("env", "secret."+sec.Name, "(secret) from "+secretSource(dir, sec))
	}
	for _, h := range e.Hosts() {
		add("hosts", "host "+h.Name, hostString(h))
	}
	for _, kv := range rolloutFields(e.Rollout) {
		add("rollout", "rollout."+kv[0], kv[1])
	}
	for i, h := range e.Hooks {
		add("hooks", fmt.Sprintf("hook %d", i+1), fmt.Sprintf("%s %s %s", h.Event, hookWhere(h), argvString(h.Run)))
	}
	return fs
}

func hostString(h *platform.Host) string {
	s := fmt.Sprintf("cluster %s, roles %s, address %s, port %s, deploy_to %s",
		h.Cluster, orDash(strings.Join(h.Roles, ",")), h.Address, portString(h.Port), orDash(h.DeployTo))
	for _, k := range sortedKeys(h.Vars) {
		s += fmt.Sprintf(", var %s=%s", k, h.Vars[k])
	}
	return s
}

func rolloutFields(r platform.Rollout) [][2]string {
	stages := r.Stages
	if len(stages) == 0 {
		stages = []string{allStages}
	}
	pause := durString(r.Pause)
	if r.Confirm {
		pause = "confirm"
	}
	maxPar := "unlimited"
	if r.MaxParallel > 0 {
		maxPar = strconv.Itoa(r.MaxParallel)
	}
	maxFail := r.MaxFailures
	if maxFail == "" {
		maxFail = "0"
	}
	return [][2]string{
		{"stages", strings.Join(stages, ", ")},
		{"pause", pause},
		{"max_parallel", maxPar},
		{"on_failure", orDash(r.OnFailure)},
		{"max_failures", maxFail},
		{"drain_timeout", durString(r.DrainTimeout)},
		{"restart", orDash(r.Restart)},
		{"health", healthString(r.Health)},
	}
}

func healthString(h *platform.HealthCheck) string {
	if h == nil {
		return "none"
	}
	port := "the host's port"
	if h.Port != 0 {
		port = "port " + strconv.Itoa(h.Port)
	}
	var kind string
	switch {
	case h.HTTP != "":
		expect := "2xx/3xx"
		if h.Status != 0 {
			expect = strconv.Itoa(h.Status)
		}
		kind = fmt.Sprintf("http GET %s on %s expects %s", h.HTTP, port, expect)
	case h.TCP:
		kind = "tcp connect to " + port
	case len(h.Command) > 0:
		kind = "command " + argvString(h.Command)
		if h.Port != 0 {
			kind += " (" + port + ")"
		}
	default:
		kind = "none"
	}
	return fmt.Sprintf("%s, timeout %s, every %s, %d retries", kind, durString(h.Timeout), durString(h.Interval), h.Retries)
}

func taskExtras(t platform.Task) string {
	var x []string
	if t.Role != "" {
		x = append(x, "role "+t.Role)
	}
	if t.Timeout != 0 {
		x = append(x, "timeout "+durString(t.Timeout))
	}
	if len(x) == 0 {
		return ""
	}
	return "  (" + strings.Join(x, ", ") + ")"
}

func hookWhere(h platform.Hook) string {
	if h.OnHost {
		return "hosts"
	}
	return "local"
}

func mergedEnv(app *platform.App, e *platform.Environment) map[string]string {
	m := map[string]string{}
	for k, v := range app.Environ {
		m[k] = v
	}
	for k, v := range e.Environ {
		m[k] = v
	}
	return m
}

// argvString shows a command, quoting the words that need it.
func argvString(argv []string) string {
	words := make([]string, len(argv))
	for i, w := range argv {
		if w == "" || strings.ContainsAny(w, " \t\n\"'\\$`*?[]{}()<>|&;#~") {
			w = strconv.Quote(w)
		}
		words[i] = w
	}
	return strings.Join(words, " ")
}

// renderAny shows a provider value in HCL-like syntax.
func renderAny(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case []any:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = renderAny(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case map[string]string:
		var q []string
		for _, k := range sortedKeys(x) {
			q = append(q, fmt.Sprintf("%s = %q", k, x[k]))
		}
		return "{ " + strings.Join(q, ", ") + " }"
	case map[string]any:
		var q []string
		for _, k := range sortedKeys(x) {
			q = append(q, fmt.Sprintf("%s = %s", k, renderAny(x[k])))
		}
		return "{ " + strings.Join(q, ", ") + " }"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

func relPath(dir, p string) string {
	if p == "" || dir == "" {
		return p
	}
	if r, err := filepath.Rel(dir, p); err == nil {
		return r
	}
	return p
}

func durString(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	return d.String()
}

func portString(p int) string {
	if p == 0 {
		return "-"
	}
	return strconv.Itoa(p)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// secretSource names where a secret comes from, never its value.
func secretSource(dir string, s platform.Secret) string {
	if s.Dotenv != "" {
		k := s.Key
		if k == "" {
			k = s.Name
		}
		return "dotenv " + relPath(dir, s.Dotenv) + " (" + k + ")"
	}
	if len(s.Command) > 0 {
		return "command " + argvString(s.Command)
	}
	return s.Source()
}
