package platform

import (
	"strings"
	"time"
)

// Policy defaults: what plat does when plat.hcl says nothing. They live
// here only; environments.Load fills them in with FillDefaults, and the
// engine fills a hand-built project the same way, so neither the engine
// nor a provider repeats a fallback.
const (
	// DefaultKeepReleases is how many releases each host keeps.
	DefaultKeepReleases = 5
	// DefaultProcesses is the process supervision: plat's pid files.
	DefaultProcesses = "plat"
	// DefaultDrainTimeout is how long a stopped process may take between
	// TERM and KILL.
	DefaultDrainTimeout = 10 * time.Second
	// DefaultHealthTimeout bounds one health probe.
	DefaultHealthTimeout = 5 * time.Second
	// DefaultHealthInterval is the wait between probes.
	DefaultHealthInterval = 500 * time.Millisecond
	// DefaultHealthRetries is how many probes may fail before the host does.
	DefaultHealthRetries = 20
	// DefaultListenTimeout is how long a new web process may take to listen
	// when there is no health check to bound it.
	DefaultListenTimeout = 30 * time.Second
	// DefaultWebPort is the PORT of the web process on a host that has the
	// machine to itself and declares none (nor does the app's health check).
	DefaultWebPort = 8000
	// DefaultStage is the single rollout stage: every host at once.
	DefaultStage = "100%"
	// DefaultSecretTimeout bounds a secret's command without a timeout.
	DefaultSecretTimeout = 30 * time.Second
)

// FillDefaults sets every policy value p leaves unset (zero) to its
// default: keep_releases, processes, the rollout's stages, on_failure,
// restart and drain_timeout, the rollout's health check (the app's, when
// the rollout has none) and each health check's timeout, interval and
// retries. It is idempotent, and it leaves hosts alone (see ResolveHosts).
func FillDefaults(p *Project) {
	if p == nil {
		return
	}
	if p.App != nil {
		fillHealth(p.App.Health)
	}
	for _, e := range p.Environments {
		FillEnvironmentDefaults(p.App, e)
	}
}

// FillEnvironmentDefaults is FillDefaults for one environment of app.
func FillEnvironmentDefaults(app *App, e *Environment) {
	if e == nil {
		return
	}
	if e.KeepReleases <= 0 {
		e.KeepReleases = DefaultKeepReleases
	}
	if e.Processes == "" {
		e.Processes = DefaultProcesses
	}
	r := &e.Rollout
	if len(r.Stages) == 0 {
		r.Stages = []string{DefaultStage}
	}
	if r.OnFailure == "" {
		r.OnFailure = OnFailureRollback
	}
	if r.Restart == "" {
		r.Restart = RestartStopStart
	}
	if r.DrainTimeout <= 0 {
		r.DrainTimeout = DefaultDrainTimeout
	}
	if r.Health == nil && app != nil && app.Health != nil {
		h := *app.Health
		r.Health = &h
	}
	fillHealth(r.Health)
}

func fillHealth(h *HealthCheck) {
	if h == nil {
		return
	}
	if h.Timeout <= 0 {
		h.Timeout = DefaultHealthTimeout
	}
	if h.Interval <= 0 {
		h.Interval = DefaultHealthInterval
	}
	if h.Retries <= 0 {
		h.Retries = DefaultHealthRetries
	}
}

// ListenTimeout is how long a new web process may take to listen: as long
// as its health check h may take to pass.
func ListenTimeout(h *HealthCheck) time.Duration {
	if h == nil {
		return DefaultListenTimeout
	}
	c := *h
	fillHealth(&c)
	return time.Duration(c.Retries)*c.Interval + c.Timeout
}

// HostDefaults says how a provider's hosts that declare no port or
// deploy_to get one (Schema.Hosts).
type HostDefaults struct {
	// PortBase names the provider block's number attribute that holds the
	// first host's PORT; the next hosts count up from it in declaration
	// order (hosts that share this machine need distinct ports). ""
	// means each host has its machine to itself: the app's health port,
	// else DefaultWebPort.
	PortBase string
	// PortBaseDefault is the first port when PortBase is not set.
	PortBaseDefault int
	// PortFromHost says a host that declares no port (nor does the app's
	// health check) gets one from the host when plat connects (the ssh
	// provider's port registry): its Port stays 0.
	PortFromHost bool
	// OwnDeployTo says the provider chooses each host's deploy_to (the
	// local provider's hosts are directories under .plat/local).
	OwnDeployTo bool
}

// ResolveHosts gives every host of env its final address, port and
// deploy_to, once, so that every provider builds the same Target from it
// (NewTarget). A declared value wins. Otherwise the port follows hd (0
// when hd.PortFromHost leaves it to the host's port registry), and
// deploy_to is the environment's (when it has no per-host placeholders),
// else /srv/<app>. A nil hd (a protocol v1 plugin, whose schema cannot say)
// leaves undeclared ports to the provider. It is idempotent.
func ResolveHosts(app *App, env *Environment, hd *HostDefaults) {
	if env == nil {
		return
	}
	for i, h := range env.Hosts() {
		if h.Address == "" {
			h.Address = h.Name
		}
		if h.Port == 0 && hd != nil {
			switch {
			case hd.PortBase != "":
				h.Port = env.Provider.Int(hd.PortBase, hd.PortBaseDefault) + i
			case app != nil && app.Health != nil && app.Health.Port != 0:
				h.Port = app.Health.Port
			case hd.PortFromHost:
			default:
				h.Port = DefaultWebPort
			}
		}
		if h.DeployTo == "" && (hd == nil || !hd.OwnDeployTo) {
			switch {
			case env.DeployTo != "" && !strings.Contains(env.DeployTo, "${"):
				h.DeployTo = env.DeployTo
			case app != nil && app.Name != "":
				h.DeployTo = "/srv/" + app.Name
			}
		}
	}
}
