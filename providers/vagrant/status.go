package vagrant

import (
	"github.com/plat-sh/plat/platform"
)

// MachineState is one machine as `vagrant status --machine-readable`
// reports it.
type MachineState struct {
	Name     string
	Provider string
	// State is Vagrant's state id: "running", "not_created", "stopped",
	// "poweroff", "saved", ...
	State string
	// Short is Vagrant's human wording ("not created").
	Short string
}

// ParseStatus extracts the machines from status records, in Vagrant's
// order (the Vagrantfile's).
func ParseStatus(recs []Record) []MachineState {
	var out []MachineState
	idx := map[string]int{}
	get := func(name string) *MachineState {
		i, ok := idx[name]
		if !ok {
			i = len(out)
			idx[name] = i
			out = append(out, MachineState{Name: name})
		}
		return &out[i]
	}
	for _, r := range recs {
		if r.Target == "" {
			continue
		}
		switch r.Type {
		case "provider-name":
			get(r.Target).Provider = r.Field(0)
		case "state":
			get(r.Target).State = r.Field(0)
		case "state-human-short":
			get(r.Target).Short = r.Field(0)
		}
	}
	return out
}

// platformState maps a Vagrant state id onto plat's words: "running",
// "stopped", "missing"; anything else (Vagrant's "preparing",
// "host_state_unknown", a plugin's own ids) is passed through.
func platformState(s string) string {
	switch s {
	case "running":
		return "running"
	case "not_created", "":
		return "missing"
	case "stopped", "poweroff", "saved", "aborted", "shutoff", "paused",
		"suspended", "shutdown":
		return "stopped"
	}
	return s
}

// toPlatform reports m as plat's MachineStatus.
func (m MachineState) toPlatform(host string) platform.MachineStatus {
	detail := "vagrant " + m.State
	if m.Provider != "" {
		detail += " (" + m.Provider + ")"
	}
	return platform.MachineStatus{Host: host, State: platformState(m.State), Detail: detail}
}
