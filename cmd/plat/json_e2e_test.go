package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/ui"
)

// decodeStrict decodes the one JSON value of data into v the way a strict
// client would: no field v does not document, nothing after the value. It
// also checks the shape against v's type (shapeErrors), which the decoder
// does not: every field without omitempty is present, and no list, map or
// object is null.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode %T: %w\n%s", v, err, data)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("more than one JSON value on stdout:\n%s", data)
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		return err
	}
	if errs := shapeErrors("", reflect.TypeOf(v).Elem(), generic); len(errs) > 0 {
		return fmt.Errorf("%T: %s\n%s", v, strings.Join(errs, "; "), data)
	}
	return nil
}

var timeType = reflect.TypeOf(time.Time{})

// shapeErrors compares a decoded JSON value with the Go type documenting it.
func shapeErrors(path string, t reflect.Type, v any) []string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil && t.Kind() != reflect.Interface {
		return []string{path + " is null"}
	}
	var errs []string
	switch {
	case t == timeType:
		s, ok := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); !ok || err != nil {
			errs = append(errs, fmt.Sprintf("%s = %v is not an RFC 3339 time", path, v))
		}
	case t.Kind() == reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return []string{path + " is not an object"}
		}
		known := map[string]bool{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			known[name] = true
			if name != strings.ToLower(name) {
				errs = append(errs, fmt.Sprintf("%s.%s is not snake_case", path, name))
			}
			val, present := m[name]
			if !present {
				if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
					errs = append(errs, fmt.Sprintf("%s.%s is missing", path, name))
				}
				continue
			}
			errs = append(errs, shapeErrors(path+"."+name, f.Type, val)...)
		}
		// encoding/json matches keys case-insensitively, so a decoder
		// with DisallowUnknownFields takes "Hosts" for "hosts".
		for k := range m {
			if !known[k] {
				errs = append(errs, fmt.Sprintf("%s.%s is not a documented field", path, k))
			}
		}
	case t.Kind() == reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return []string{path + " is not a list"}
		}
		for i, x := range l {
			errs = append(errs, shapeErrors(fmt.Sprintf("%s[%d]", path, i), t.Elem(), x)...)
		}
	case t.Kind() == reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return []string{path + " is not an object"}
		}
		for k, x := range m {
			errs = append(errs, shapeErrors(path+"."+k, t.Elem(), x)...)
		}
	}
	return errs
}

// eventTypes are the documented event types.
var eventTypes = []string{"step_start", "step_end", "log", "progress", "summary", "output", ui.EventResult, ui.EventError}

// decodeEvents checks that stdout is JSON lines of documented events, the
// last one a result (decoded strictly into result) or an error, and
// returns the events.
func decodeEvents(data string, result any) ([]ui.JSONEvent, error) {
	var evs []ui.JSONEvent
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	for i, l := range lines {
		var e ui.JSONEvent
		if err := decodeStrict([]byte(l), &e); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if e.SchemaVersion != ui.SchemaVersion || e.Time.IsZero() || !slices.Contains(eventTypes, e.Type) {
			return nil, fmt.Errorf("line %d: schema_version, time or type: %s", i+1, l)
		}
		if (e.Type == ui.EventResult || e.Type == ui.EventError) != (i == len(lines)-1) {
			return nil, fmt.Errorf("line %d: a stream has one result or error event, the last:\n%s", i+1, data)
		}
		evs = append(evs, e)
	}
	last := evs[len(evs)-1]
	if last.Type == ui.EventResult {
		b, _ := json.Marshal(last.Result)
		if err := decodeStrict(b, result); err != nil {
			return nil, fmt.Errorf("result: %w", err)
		}
	}
	return evs, nil
}

// jsonCase is one command line of TestJSONEveryCommand.
type jsonCase struct {
	args []string
	code int
	// doc is the document type (read commands), result the result type
	// (streaming commands) or nil for an error event.
	doc, result any
	check       func(t *testing.T, out any, evs []ui.JSONEvent)
}

// TestJSONEveryCommand runs every command that runs something with
// --json, through the built binary against the local provider (the read
// commands after pushes), and holds stdout to docs/json.md: nothing but
// JSON, strictly the documented fields, schema_version everywhere.
func TestJSONEveryCommand(t *testing.T) {
	p := newProject(t)
	p.pluginEnv("")
	plugin := filepath.Join(p.dir, ".plat", "plugins", "plat-provider-dirs")
	pluginSrc := mustAbs(t, "../../plugins/example/plat-provider-dirs")
	initDir := t.TempDir()
	os.WriteFile(filepath.Join(initDir, "Procfile"), []byte("web: python3 app.py\n"), 0o644)
	os.WriteFile(filepath.Join(initDir, "app.py"), []byte("print('hi')\n"), 0o644)

	ran := map[string]bool{}
	run := func(name string, c jsonCase) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			r := p.plat(append([]string{"--json"}, c.args...)...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, c.code, r)
			}
			var evs []ui.JSONEvent
			var out any
			switch {
			case c.doc != nil:
				if err := decodeStrict([]byte(r.stdout), c.doc); err != nil {
					t.Fatalf("%v\nstderr:\n%s", err, r.stderr)
				}
				if v := reflect.ValueOf(c.doc).Elem().FieldByName("SchemaVersion"); v.Int() != ui.SchemaVersion {
					t.Errorf("schema_version = %d", v.Int())
				}
				out = c.doc
			default:
				var err error
				if evs, err = decodeEvents(r.stdout, c.result); err != nil {
					t.Fatalf("%v\nstderr:\n%s", err, r.stderr)
				}
				last := evs[len(evs)-1]
				if c.result == nil && (last.Type != ui.EventError || last.ExitCode != c.code || last.Error == "") {
					t.Fatalf("want an error event with exit_code %d, got %+v", c.code, last)
				}
				if c.result != nil && last.Type != ui.EventResult {
					t.Fatalf("want a result event, got %+v", last)
				}
				out = c.result
			}
			if c.check != nil {
				c.check(t, out, evs)
			}
		})
		ran[commandPath(c.args)] = true
	}

	run("version", jsonCase{args: []string{"version"}, doc: &versionDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*versionDoc); d.Version == "" || d.PluginProtocol != 1 {
			t.Errorf("%+v", d)
		}
	}})
	run("init", jsonCase{args: []string{"-C", initDir, "init"}, doc: &initDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*initDoc); d.Path != filepath.Join(initDir, "plat.hcl") || d.Kind == "" {
			t.Errorf("%+v", d)
		}
	}})
	run("validate", jsonCase{args: []string{"validate"}, doc: &validateDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*validateDoc); !d.Valid || d.App != "notes" || !slices.Contains(d.Environments, "local") || len(d.Diagnostics) != 0 {
			t.Errorf("%+v", d)
		}
	}})
	broken := filepath.Join(p.root, "broken.hcl")
	os.WriteFile(broken, []byte("app \"x\" {\n  colour = \"blue\"\n}\n"), 0o644)
	run("validate invalid", jsonCase{args: []string{"-f", broken, "validate"}, code: 2, doc: &validateDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		d := out.(*validateDoc)
		i := slices.IndexFunc(d.Diagnostics, func(x diagnosticJSON) bool { return x.Summary == "Unsupported argument" })
		if d.Valid || d.File != broken || i < 0 || d.Diagnostics[i].Line != 2 || d.Diagnostics[i].File != broken || d.Diagnostics[i].Severity != "error" {
			t.Errorf("%+v", d)
		}
	}})
	run("env list", jsonCase{args: []string{"env", "list"}, doc: &envListDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*envListDoc); len(d.Environments) < 5 || d.Environments[0] != (envListEntry{"local", "local", 2, ""}) {
			t.Errorf("%+v", d)
		}
	}})
	run("env update", jsonCase{args: []string{"env", "update"}, doc: &envUpdateDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*envUpdateDoc); len(d.Sources) != 0 { // notes has no shared source (see TestSharedDefinitionsPushEndToEnd)
			t.Errorf("%+v", d)
		}
	}})
	run("env show", jsonCase{args: []string{"env", "show", "local"}, doc: &envShowDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		d := out.(*envShowDoc)
		if d.Name != "local" || len(d.Hosts) != 2 || d.Hosts[1].Name != "web2" || d.Health == nil || d.Health.HTTP != "/healthz" || d.Env["NOTES_DB"] == "" {
			t.Errorf("%+v", d)
		}
	}})
	run("env diff", jsonCase{args: []string{"env", "diff", "local", "laptop"}, code: 1, doc: &envDiffDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*envDiffDoc); d.Same || len(d.Differences) == 0 || d.A != "local" {
			t.Errorf("%+v", d)
		}
	}})
	run("push --plan", jsonCase{args: []string{"push", "local", "--plan"}, result: &pushResult{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		d := out.(*pushResult)
		if d.Plan == nil || d.Release != "r1" || len(d.Plan.Changes) != 1 || len(d.Plan.Changes[0].Changes) == 0 || d.Plan.Files == 0 {
			t.Errorf("%+v", d)
		}
		if d.Plan != nil && (len(d.Plan.Steps) == 0 || len(d.Plan.Steps[0].Steps) == 0 || d.Plan.Steps[0].Steps[0].Name != "upload r1") {
			t.Errorf("plan steps: %+v", d.Plan.Steps)
		}
	}})
	run("push", jsonCase{args: []string{"push", "local"}, result: &pushResult{}, check: func(t *testing.T, out any, evs []ui.JSONEvent) {
		d := out.(*pushResult)
		if d.Release != "r1" || d.URLs["web1"] != fmt.Sprintf("http://127.0.0.1:%d", p.port) || len(d.Hosts) != 2 || d.Hosts[0].Status != "ok" {
			t.Errorf("%+v", d)
		}
		steps := 0
		for _, e := range evs {
			if e.Type == "step_end" && e.Status == "ok" && e.DurationSeconds > 0 {
				steps++
			}
		}
		if steps == 0 {
			t.Error("no step_end event with a duration")
		}
	}})
	p.write("VERSION", "2.0.0\n")
	p.mustPlat("push", "local")
	run("releases", jsonCase{args: []string{"releases", "local"}, doc: &releasesDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		d := out.(*releasesDoc)
		if len(d.Releases) != 2 || d.Releases[1].ID != "r2" || !d.Releases[1].Current || d.Releases[0].Outcome != "ok" {
			t.Errorf("%+v", d)
		}
	}})
	run("diff", jsonCase{args: []string{"diff", "local", "r1", "r2"}, doc: &diffDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		d := out.(*diffDoc)
		if !slices.Contains(d.Changes, changeJSON{Path: "VERSION", Op: "changed"}) {
			t.Errorf("%+v", d)
		}
	}})
	run("status", jsonCase{args: []string{"status", "local", "--verify"}, doc: &statusDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		d := out.(*statusDoc)
		if len(d.Hosts) != 2 || d.Hosts[0].Release != "r2" || len(d.Hosts[0].Processes) != 1 || !d.Hosts[0].Processes[0].Running ||
			d.Hosts[0].Processes[0].Type != "web" || d.Hosts[0].Drift == nil || !d.Hosts[0].Drift.Clean || d.Hosts[0].Deployed == nil {
			t.Errorf("%+v", d)
		}
	}})
	run("ps", jsonCase{args: []string{"ps", "local"}, doc: &psDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		d := out.(*psDoc)
		if len(d.Processes) != 2 || d.Processes[0].State != "running" || d.Processes[0].PID == 0 {
			t.Errorf("%+v", d)
		}
	}})
	run("lock", jsonCase{args: []string{"lock", "local"}, doc: &lockDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*lockDoc); d.Locked || len(d.Hosts) != 2 {
			t.Errorf("%+v", d)
		}
	}})
	run("lock break", jsonCase{args: []string{"lock", "local", "break"}, doc: &lockBreakDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*lockBreakDoc); d.Environment != "local" || len(d.Broken) != 0 {
			t.Errorf("%+v", d)
		}
	}})
	for _, verb := range []string{"stop", "start", "restart"} {
		done := map[string]string{"stop": "stopped", "start": "started", "restart": "restarted"}[verb]
		run(verb, jsonCase{args: []string{verb, "local", "web"}, result: &lifecycleResult{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
			if d := out.(*lifecycleResult); d.Action != done || !slices.Equal(d.Types, []string{"web"}) {
				t.Errorf("%+v", d)
			}
		}})
	}
	run("rollback", jsonCase{args: []string{"rollback", "local"}, result: &pushResult{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*pushResult); d.Release != "r1" || len(d.URLs) != 2 || d.Plan != nil {
			t.Errorf("%+v", d)
		}
	}})
	run("rollback unknown", jsonCase{args: []string{"rollback", "local", "r9"}, code: 2, check: func(t *testing.T, _ any, evs []ui.JSONEvent) {
		if e := evs[len(evs)-1]; !strings.Contains(e.Error, "unknown release r9") || !strings.Contains(e.Error, "known: r1, r2") {
			t.Errorf("%+v", e)
		}
	}})
	// One local environment: a promote to itself is refused in the
	// stream's error event (TestPromoteStageToProd promotes).
	run("promote", jsonCase{args: []string{"promote", "local", "local"}, code: 2, check: func(t *testing.T, _ any, evs []ui.JSONEvent) {
		if e := evs[len(evs)-1]; !strings.Contains(e.Error, "promote local to itself") {
			t.Errorf("%+v", e)
		}
	}})
	// The local provider has no machines: up fails, and says so in the
	// stream's error event.
	run("up", jsonCase{args: []string{"up", "local"}, code: 2, check: func(t *testing.T, _ any, evs []ui.JSONEvent) {
		if e := evs[len(evs)-1]; !strings.Contains(e.Error, "no machines to bring up") {
			t.Errorf("%+v", e)
		}
	}})
	run("down", jsonCase{args: []string{"down", "local"}, result: &machinesResult{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*machinesResult); d.Environment != "local" {
			t.Errorf("%+v", d)
		}
	}})
	run("plugins list", jsonCase{args: []string{"plugins", "list"}, doc: &pluginsDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		d := out.(*pluginsDoc)
		if len(d.Plugins) == 0 || d.Plugins[0].Name != "dirs" || d.Plugins[0].Protocol != 1 {
			t.Errorf("%+v", d)
		}
	}})
	run("plugins lock", jsonCase{args: []string{"plugins", "lock", "dirs"}, doc: &pluginLockDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*pluginLockDoc); d.Name != "dirs" || !strings.HasPrefix(d.Checksum, "sha256:") {
			t.Errorf("%+v", d)
		}
	}})
	run("plugins install", jsonCase{args: []string{"plugins", "install", pluginSrc}, doc: &pluginLockDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*pluginLockDoc); d.Name != "dirs" || !strings.HasPrefix(d.Checksum, "sha256:") || d.LockFile == "" {
			t.Errorf("%+v", d)
		}
	}})
	run("plugins test", jsonCase{args: []string{"plugins", "test", plugin, "--set", "root=" + t.TempDir()}, doc: &pluginTestDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*pluginTestDoc); !d.Passed || d.Path != plugin {
			t.Errorf("%+v", d)
		}
	}})
	run("ssh-config", jsonCase{args: []string{"ssh-config", "dev"}, doc: &sshConfigDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		d := out.(*sshConfigDoc)
		if d.Environment != "dev" || len(d.Hosts) != 2 || d.Hosts[0].HostName != "generic1.dev.example.org" || d.Hosts[0].Port != 22 {
			t.Errorf("%+v", d)
		}
	}})
	run("image build-base", jsonCase{args: []string{"image", "build-base"}, doc: &imageDoc{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if d := out.(*imageDoc); d.Tag != "plat/base:bookworm" {
			t.Errorf("%+v", d)
		}
	}})

	// exec, run and logs: the remote program's lines as output events.
	run("exec", jsonCase{args: []string{"exec", "local", "--", "sh", "-c", "echo out; printf 'no newline' >&2"}, result: &execResult{}, check: func(t *testing.T, out any, evs []ui.JSONEvent) {
		if r := out.(*execResult); r.Environment != "local" || len(r.Command) != 3 {
			t.Errorf("%+v", r)
		}
		got := map[string]bool{}
		for _, e := range evs {
			if e.Type == "output" {
				got[e.Host+" "+e.Stream+" "+e.Message] = true
			}
		}
		for _, h := range []string{"web1", "web2"} {
			if !got[h+" stdout out"] || !got[h+" stderr no newline"] {
				t.Errorf("%s: output events %v", h, got)
			}
		}
	}})
	run("exec fails", jsonCase{args: []string{"exec", "local", "--host", "web1", "--", "sh", "-c", "exit 3"}, code: 3, check: func(t *testing.T, _ any, evs []ui.JSONEvent) {
		for _, e := range evs {
			if e.Type == "step_end" && e.Step == "exec" && (e.Status != "failed" || e.ExitCode != 3) {
				t.Errorf("step_end %+v, want failed with exit_code 3", e)
			}
		}
	}})
	run("run", jsonCase{args: []string{"run", "local", "migrate"}, result: &runResult{}, check: func(t *testing.T, out any, _ []ui.JSONEvent) {
		if r := out.(*runResult); r.Environment != "local" || r.Task != "migrate" {
			t.Errorf("%+v", r)
		}
	}})
	run("logs", jsonCase{args: []string{"logs", "local", "-n", "5"}, result: &logsResult{}, check: func(t *testing.T, out any, evs []ui.JSONEvent) {
		n := 0
		for _, e := range evs {
			if e.Type == "output" && e.Host != "" {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no output events for the logs of a pushed app: %+v", evs)
		}
	}})
	// console is interactive: --json is a usage error with nothing on
	// stdout. exec -i is one too, reported as exec's stream ends: with an
	// error event.
	if r := p.plat("--json", "console", "local"); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "--json does not apply") {
		t.Errorf("plat --json console: want exit 2, nothing on stdout:\n%s", r)
	}
	ran["console"] = true
	if r := p.plat("--json", "exec", "local", "--host", "web1", "-i", "--", "cat"); r.code != 2 {
		t.Errorf("plat --json exec -i: want exit 2:\n%s", r)
	} else if evs, err := decodeEvents(r.stdout, nil); err != nil || len(evs) != 1 || evs[0].ExitCode != 2 || !strings.Contains(evs[0].Error, "-i and -t") {
		t.Errorf("plat --json exec -i: want one error event: %v\n%s", err, r)
	}
	// $PLAT_JSON does not apply to a program's own output.
	p.env = []string{"PLAT_JSON=1"}
	if r := p.plat("exec", "local", "--host", "web1", "--", "echo", "hi"); r.code != 0 || r.stdout != "hi\n" {
		t.Errorf("PLAT_JSON=1 plat exec: %s", r)
	}
	p.env = nil

	// Every command that runs something was run above.
	for _, c := range runnableCommands() {
		if !ran[c] {
			t.Errorf("plat %s has no --json case here", c)
		}
	}
}

// commandPath is the command named by args ("env show").
func commandPath(args []string) string {
	root := newRootCommand(&app{})
	var words []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			if args[i] == "-C" || args[i] == "-f" {
				i++
			}
			continue
		}
		var next *cobra.Command
		for _, c := range root.Commands() {
			if c.Name() == args[i] {
				next = c
			}
		}
		if next == nil {
			break
		}
		words, root = append(words, args[i]), next
	}
	return strings.Join(words, " ")
}

// runnableCommands are plat's commands that run something (not groups,
// not help or completion).
func runnableCommands() []string {
	var out []string
	var visit func(prefix string, c *cobra.Command)
	visit = func(prefix string, c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" || sub.Hidden {
				continue
			}
			if sub.HasSubCommands() {
				visit(prefix+sub.Name()+" ", sub)
				continue
			}
			out = append(out, prefix+sub.Name())
		}
	}
	visit("", newRootCommand(&app{}))
	return out
}

// TestEveryCommandDecidesItsJSON: a command without a jsonAnnotation would
// print whatever it prints under --json.
func TestEveryCommandDecidesItsJSON(t *testing.T) {
	root := newRootCommand(&app{})
	for _, path := range runnableCommands() {
		c, _, err := root.Find(strings.Fields(path))
		if err != nil {
			t.Fatal(err)
		}
		switch c.Annotations[jsonAnnotation] {
		case jsonEvents, jsonDocument, jsonOutput, jsonPassthrough:
		default:
			t.Errorf("plat %s has no %s annotation", path, jsonAnnotation)
		}
	}
}
