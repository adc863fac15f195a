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
	// Status is StepOK, StepFailed or StepSkipped on step_end.
	Status StepStatus `json:"status,omitempty"`
	Error  string     `json:"error,omitempty"`
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
	Status   HostState     `json:"status"`
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

// StepStatus is how a step ended (step_end's status).
type StepStatus string

// Step statuses.
const (
	StepOK      StepStatus = "ok"
	StepFailed  StepStatus = "failed"
	StepSkipped StepStatus = "skipped"
)

// HostState is where one host stands in a push or a rollback: a summary
// row's status. The strings are the ones users and --json see.
type HostState string

// Host states, in the order a push moves a host through them.
const (
	HostPending     HostState = "pending"      // nothing done yet
	HostUploaded    HostState = "uploaded"     // the new release is on the host
	HostOK          HostState = "ok"           // switched and healthy (or already current)
	HostFailed      HostState = "failed"       // a step failed (the note says which, or what was undone)
	HostNotSwitched HostState = "not switched" // uploaded, but the push stopped before its stage
	HostRolledBack  HostState = "rolled back"  // switched, then returned to its previous release
)

// Outcome is what a push or rollback came to on one host, as the host's
// history records it (plat releases shows it).
type Outcome string

// Outcomes.
const (
	OutcomeOK         Outcome = "ok"
	OutcomeFailed     Outcome = "failed"
	OutcomeRolledBack Outcome = "rolled_back" // on_failure = "rollback" switched the host back
	OutcomeHalted     Outcome = "halted"      // on_failure = "halt" stopped the push here
	// OutcomeEngineRolledBack is an engine provider's own rollback (a
	// swarm service's update failure action), as its history records it.
	OutcomeEngineRolledBack Outcome = "rolled back"
	// OutcomeNotDeployed is a release the local store has and no host
	// ever received.
	OutcomeNotDeployed Outcome = "not deployed"
)
