package ui

import (
	"time"

	"github.com/plat-sh/plat/platform"
)

// SchemaVersion is the version of plat's JSON output (docs/json.md): every
// event line and every document carries it as schema_version. It changes
// only when a field is removed, renamed or changes meaning; new fields and
// new event types keep it.
const SchemaVersion = 1

// Event types that only the JSON stream has: the last line of a command's
// stream is one of them.
const (
	// EventResult carries the command's outcome (its Result field).
	EventResult = "result"
	// EventError says why the command failed (Error, ExitCode).
	EventError = "error"
)

// JSONEvent is one line of the --json event stream (docs/json.md).
// Durations are seconds.
type JSONEvent struct {
	SchemaVersion   int              `json:"schema_version"`
	Time            time.Time        `json:"time"`
	Type            string           `json:"type"`
	Host            string           `json:"host,omitempty"`
	Step            string           `json:"step,omitempty"`
	Message         string           `json:"message,omitempty"`
	Status          string           `json:"status,omitempty"`
	Error           string           `json:"error,omitempty"`
	DurationSeconds float64          `json:"duration_seconds,omitempty"`
	Bytes           int64            `json:"bytes,omitempty"`
	TotalBytes      int64            `json:"total_bytes,omitempty"`
	WireBytes       int64            `json:"wire_bytes,omitempty"`
	Files           int              `json:"files,omitempty"`
	Rows            []JSONSummaryRow `json:"rows,omitempty"`
	Stream          string           `json:"stream,omitempty"`
	ExitCode        int              `json:"exit_code,omitempty"`
	Result          any              `json:"result,omitempty"`
}

// JSONSummaryRow is one host's outcome in a summary event.
type JSONSummaryRow struct {
	Host            string  `json:"host"`
	Release         string  `json:"release"`
	DurationSeconds float64 `json:"duration_seconds"`
	Status          string  `json:"status"`
	Note            string  `json:"note,omitempty"`
}

// NewJSONEvent is e as it goes on the wire.
func NewJSONEvent(e platform.Event) JSONEvent {
	j := JSONEvent{
		SchemaVersion: SchemaVersion, Time: e.Time, Type: string(e.Type), Host: e.Host, Step: e.Step,
		Message: e.Message, Status: string(e.Status), Error: e.Error, DurationSeconds: e.Duration.Seconds(),
		Bytes: e.Bytes, TotalBytes: e.TotalBytes, WireBytes: e.WireBytes, Files: e.Files,
		Stream: e.Stream, ExitCode: e.ExitCode,
	}
	if e.Type == platform.EventSummary {
		j.Rows = SummaryRows(e.Rows)
	}
	return j
}

// SummaryRows converts summary rows for JSON (an empty list, never null).
func SummaryRows(rows []platform.SummaryRow) []JSONSummaryRow {
	out := make([]JSONSummaryRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, JSONSummaryRow{Host: r.Host, Release: r.Release, DurationSeconds: r.Duration.Seconds(), Status: string(r.Status), Note: r.Note})
	}
	return out
}

// Result ends the stream with the command's outcome.
func (j *JSON) Result(v any) {
	j.encode(JSONEvent{SchemaVersion: SchemaVersion, Time: time.Now(), Type: EventResult, Result: v})
}

// Fail ends the stream with the command's error and exit code.
func (j *JSON) Fail(msg string, code int) {
	j.encode(JSONEvent{SchemaVersion: SchemaVersion, Time: time.Now(), Type: EventError, Error: msg, ExitCode: code})
}

func (j *JSON) encode(e JSONEvent) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(e)
}
