package platform

import (
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/plat-sh/plat/platform/suggest"
)

// UnknownHostError is a host name the environment does not declare.
type UnknownHostError struct {
	EnvName, Host string
	// Hint is `; did you mean "X"?`, or "".
	Hint string
}

func (e *UnknownHostError) Error() string {
	return fmt.Sprintf("environment %s has no host %q%s", e.EnvName, e.Host, e.Hint)
}

// UnknownRoleError is a role no host of the environment has.
type UnknownRoleError struct {
	EnvName, Role string
	Hint          string
}

func (e *UnknownRoleError) Error() string {
	return fmt.Sprintf("no host of %s has role %q%s", e.EnvName, e.Role, e.Hint)
}

// SelectHosts returns the hosts of env named in names (every host when
// names is empty) that have role (any when role is ""), in the
// environment's declared order whatever the order of names. A name env
// does not declare is an *UnknownHostError, a role no selected host has
// an *UnknownRoleError, each with a "did you mean" when one is close.
// Every provider and the engine select hosts with it.
func SelectHosts(env *Environment, names []string, role string) ([]*Host, error) {
	if env == nil {
		return nil, fmt.Errorf("no environment")
	}
	all := env.Hosts()
	var declared []string
	for _, h := range all {
		declared = append(declared, h.Name)
	}
	for _, n := range names {
		if !slices.Contains(declared, n) {
			return nil, &UnknownHostError{EnvName: env.Name, Host: n, Hint: suggest.Hint(n, declared)}
		}
	}
	var out []*Host
	for _, h := range all {
		if len(names) > 0 && !slices.Contains(names, h.Name) {
			continue
		}
		if role != "" && !h.HasRole(role) {
			continue
		}
		out = append(out, h)
	}
	if role != "" && len(out) == 0 {
		var roles []string
		for _, h := range all {
			for _, r := range h.AllRoles() {
				if !slices.Contains(roles, r) {
					roles = append(roles, r)
				}
			}
		}
		return nil, &UnknownRoleError{EnvName: env.Name, Role: role, Hint: suggest.Hint(role, roles)}
	}
	return out, nil
}

// NewTarget is the Target of a resolved host (ResolveHosts): its name,
// address, roles, deploy_to and port, and the web process reached on the
// target's loopback through the transport. The provider attaches the
// Transport and, where they differ, the Address, HealthAddr and PublicURL.
func NewTarget(h *Host) *Target {
	t := &Target{
		Name:     h.Name,
		Address:  h.Address,
		Roles:    h.AllRoles(),
		DeployTo: h.DeployTo,
		Port:     h.Port,
	}
	if t.Address == "" {
		t.Address = h.Name
	}
	if t.Port > 0 {
		t.HealthAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(t.Port))
	}
	return t
}
