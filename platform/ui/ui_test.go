package ui

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
)

func script() []platform.Event {
	return []platform.Event{
		{Type: platform.EventStepStart, Host: "web1", Step: "upload r42", Message: "17 files changed, 212 KiB"},
		{Type: platform.EventProgress, Host: "web1", Step: "upload r42", Bytes: 1024, TotalBytes: 212 << 10, WireBytes: 600, Files: 17, Message: "1 KiB/212 KiB"},
		{Type: platform.EventStepEnd, Host: "web1", Step: "upload r42", Duration: 414 * time.Millisecond, Status: "ok"},
		{Type: platform.EventStepEnd, Host: "web2", Step: "health", Duration: 1500 * time.Millisecond, Status: "failed", Error: "status 503\nmore"},
		{Type: platform.EventSummary, Rows: []platform.SummaryRow{{Host: "web1", Release: "r42", Duration: 1706 * time.Millisecond, Status: "ok"}}},
	}
}

func TestLines(t *testing.T) {
	var b bytes.Buffer
	l := &Lines{W: &b}
	for _, e := range script() {
		l.Event(e)
	}
	want := `[web1] running: upload r42 (17 files changed, 212 KiB)
[web1] finished: upload r42 (0.414s)
[web2] failed: health: status 503 … (1.500s)

HOST  RELEASE  DURATION  STATUS
web1  r42      1.706s    ok
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestJSONIsOneEventPerLine(t *testing.T) {
	var b bytes.Buffer
	j := NewJSON(&b)
	for _, e := range script() {
		j.Event(e)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(script()) {
		t.Fatalf("%d lines for %d events", len(lines), len(script()))
	}
	var e JSONEvent
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e.Bytes != 1024 || e.TotalBytes != 212<<10 || e.WireBytes != 600 || e.Files != 17 || e.SchemaVersion != SchemaVersion {
		t.Errorf("progress event: %v %+v", err, e)
	}
	var end JSONEvent
	if err := json.Unmarshal([]byte(lines[2]), &end); err != nil || end.DurationSeconds != 0.414 || end.Status != "ok" {
		t.Errorf("step_end event: %v %+v", err, end)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(lines[4]), &sum); err != nil || sum["rows"].([]any)[0].(map[string]any)["duration_seconds"] != 1.706 {
		t.Errorf("summary event: %v %s", err, lines[4])
	}
	j.Result(map[string]string{"release": "r42"})
	j.Fail("boom", 3)
	tail := strings.Split(strings.TrimSpace(b.String()), "\n")[len(lines):]
	if len(tail) != 2 || !strings.Contains(tail[0], `"type":"result","result":{"release":"r42"}`) ||
		!strings.Contains(tail[1], `"type":"error","error":"boom","exit_code":3`) {
		t.Errorf("result and error lines: %q", tail)
	}
}
