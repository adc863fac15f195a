package platform

import "time"

// EventType names what happened.
type EventType string

// Event types. A step is a unit of work on one host (or on the build
// machine, host "localhost"): it starts, may log, and ends once.
const (
	EventStepStart EventType = "step_start"
	EventStepEnd   EventType = "step_end"
	EventLog       EventType = "log"
	EventProgress  EventType = "progress"
	EventSummary   EventType = "summary"
	// EventOutput is one line a command printed on a host (exec, run,
	// logs with --json): Stream says which, Message holds the line.
	EventOutput EventType = "output"
)

// Event is what the engine reports; the UI renders it as per-host lines, a
// live view or JSON. Events never carry private settings' contents.
type Event struct {
	Time     time.Time     `json:"time"`
	Type     EventType     `json:"type"`
	Host     string        `json:"host,omitempty"`
	Step     string        `json:"step,omitempty"`
	Message  string        `json:"message,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	// Status is "ok", "failed", "skipped" on step_end.
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// Bytes, TotalBytes, WireBytes and Files report upload progress on
	// EventProgress: Bytes of the TotalBytes of file content the host
	// receives (its upload plan's size, uncompressed, as the step's
	// message counts it) have reached it; WireBytes is the compressed
	// stream sent so far; Files is the number of files being sent.
	Bytes      int64 `json:"bytes,omitempty"`
	TotalBytes int64 `json:"total_bytes,omitempty"`
	WireBytes  int64 `json:"wire_bytes,omitempty"`
	Files      int   `json:"files,omitempty"`
	// Rows is the summary table on EventSummary.
	Rows []SummaryRow `json:"rows,omitempty"`
	// Stream is "stdout" or "stderr" on EventOutput.
	Stream string `json:"stream,omitempty"`
	// ExitCode is a remote command's exit code on its failed step_end.
	ExitCode int `json:"exit_code,omitempty"`
}

// SummaryRow is one host's outcome.
type SummaryRow struct {
	Host     string        `json:"host"`
	Release  string        `json:"release"`
	Duration time.Duration `json:"duration_ns"`
	Status   string        `json:"status"`
	Note     string        `json:"note,omitempty"`
}

// UI receives events. Implementations are safe for concurrent use.
type UI interface {
	Event(e Event)
}

// UIFunc adapts a function to UI.
type UIFunc func(Event)

// Event calls f.
func (f UIFunc) Event(e Event) { f(e) }
