package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// jsonTypes are the documented types of each command's --json output: a
// document, or the result of an event stream.
var jsonTypes = map[string]func() (doc, result any){
	"push":             func() (any, any) { return nil, &pushResult{} },
	"rollback":         func() (any, any) { return nil, &pushResult{} },
	"promote":          func() (any, any) { return nil, &pushResult{} },
	"up":               func() (any, any) { return nil, &machinesResult{} },
	"down":             func() (any, any) { return nil, &machinesResult{} },
	"start":            func() (any, any) { return nil, &lifecycleResult{} },
	"stop":             func() (any, any) { return nil, &lifecycleResult{} },
	"restart":          func() (any, any) { return nil, &lifecycleResult{} },
	"status":           func() (any, any) { return &statusDoc{}, nil },
	"releases":         func() (any, any) { return &releasesDoc{}, nil },
	"diff":             func() (any, any) { return &diffDoc{}, nil },
	"lock":             func() (any, any) { return &lockDoc{}, nil },
	"lock break":       func() (any, any) { return &lockBreakDoc{}, nil },
	"ps":               func() (any, any) { return &psDoc{}, nil },
	"env list":         func() (any, any) { return &envListDoc{}, nil },
	"env show":         func() (any, any) { return &envShowDoc{}, nil },
	"env diff":         func() (any, any) { return &envDiffDoc{}, nil },
	"env update":       func() (any, any) { return &envUpdateDoc{}, nil },
	"validate":         func() (any, any) { return &validateDoc{}, nil },
	"init":             func() (any, any) { return &initDoc{}, nil },
	"plugins list":     func() (any, any) { return &pluginsDoc{}, nil },
	"plugins install":  func() (any, any) { return &pluginLockDoc{}, nil },
	"plugins lock":     func() (any, any) { return &pluginLockDoc{}, nil },
	"plugins test":     func() (any, any) { return &pluginTestDoc{}, nil },
	"image build-base": func() (any, any) { return &imageDoc{}, nil },
	"version":          func() (any, any) { return &versionDoc{}, nil },
	"ssh-config":       func() (any, any) { return &sshConfigDoc{}, nil },
	"exec":             func() (any, any) { return nil, &execResult{} },
	"run":              func() (any, any) { return nil, &runResult{} },
	"logs":             func() (any, any) { return nil, &logsResult{} },
}

var (
	headingRE = regexp.MustCompile("(?m)^##+ (.*)$")
	commandRE = regexp.MustCompile("`plat ([a-z -]+)`")
	jsonRE    = regexp.MustCompile("(?s)```json\n(.*?)```")
)

// TestJSONDocs holds docs/json.md to the code: it has a section for every
// command, and every example in it decodes strictly into the documented
// type (events, documents, results).
func TestJSONDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	heads := headingRE.FindAllStringSubmatchIndex(md, -1)
	documented := map[string]bool{}
	for i, h := range heads {
		end := len(md)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		title, body := md[h[2]:h[3]], md[h[1]:end]
		examples := jsonRE.FindAllStringSubmatch(body, -1)
		if title == "Events" {
			if len(examples) != 2 {
				t.Fatalf("Events: want a stream and an error example, got %d", len(examples))
			}
			if _, err := decodeEvents(examples[0][1], &pushResult{}); err != nil {
				t.Errorf("Events example: %v", err)
			}
			if evs, err := decodeEvents(examples[1][1], nil); err != nil || evs[0].Type != "error" || evs[0].ExitCode != 2 {
				t.Errorf("Events error example: %v %+v", err, evs)
			}
			continue
		}
		for _, m := range commandRE.FindAllStringSubmatch(title, -1) {
			cmd := m[1]
			documented[cmd] = true
			types, ok := jsonTypes[cmd]
			if !ok {
				if len(examples) > 0 {
					t.Errorf("%s: an example for a command without JSON", title)
				}
				continue
			}
			if len(examples) != 1 {
				t.Errorf("%s: want one example, got %d", title, len(examples))
				continue
			}
			doc, result := types()
			if doc != nil {
				err = decodeStrict([]byte(strings.TrimSpace(examples[0][1])), doc)
			} else {
				_, err = decodeEvents(examples[0][1], result)
			}
			if err != nil {
				t.Errorf("%s: %v", title, err)
			}
		}
	}
	for _, c := range runnableCommands() {
		if !documented[c] {
			t.Errorf("docs/json.md has no section for plat %s", c)
		}
	}
	for c := range jsonTypes {
		if !documented[c] {
			t.Errorf("docs/json.md has no section for plat %s", c)
		}
	}
}

// TestDecodeStrictRejects: the checker the JSON tests rely on fails on
// each thing it is there to catch.
func TestDecodeStrictRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown field", `{"schema_version":1,"environment":"x","hosts":[],"colour":1}`, "unknown field"},
		{"a field in another case", `{"schema_version":1,"Environment":"x","environment":"x","hosts":[]}`, ".Environment is not a documented field"},
		{"null list", `{"schema_version":1,"environment":"x","hosts":null}`, ".hosts is null"},
		{"missing field", `{"schema_version":1,"hosts":[]}`, ".environment is missing"},
		{"nested null list", `{"schema_version":1,"environment":"x","hosts":[{"host":"web1","processes":null}]}`, ".hosts[0].processes is null"},
		{"not a time", `{"schema_version":1,"environment":"x","hosts":[{"host":"web1","processes":[],"deployed":"yesterday"}]}`, "decode"},
		{"text after the document", `{"schema_version":1,"environment":"x","hosts":[]}` + "\ndone\n", "more than one JSON value"},
		{"two documents", `{"schema_version":1,"environment":"x","hosts":[]}{}`, "more than one JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodeStrict([]byte(tt.in), &statusDoc{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if err := decodeStrict([]byte(`{"schema_version":1,"environment":"x","hosts":[]}`+"\n"), &statusDoc{}); err != nil {
		t.Errorf("a valid document: %v", err)
	}
	if _, err := decodeEvents(`{"schema_version":1,"time":"2026-12-03T07:00:00Z","type":"result","result":{}}`+"\n"+`{"schema_version":1,"time":"2026-12-03T07:00:00Z","type":"log"}`, &machinesResult{}); err == nil {
		t.Error("a stream whose result is not last passed")
	}
}
