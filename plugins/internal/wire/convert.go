package wire

import (
	"fmt"
	"sort"

	"github.com/plat-sh/plat/platform"
	pluginv1 "github.com/plat-sh/plat/plugins/proto"
)

// SchemaToProto converts a provider schema.
func SchemaToProto(s platform.Schema) *pluginv1.Schema {
	out := &pluginv1.Schema{Scheduled: s.Scheduled}
	for _, a := range s.Attributes {
		out.Attributes = append(out.Attributes, &pluginv1.Attribute{
			Name: a.Name, Type: string(a.Type), Required: a.Required, Description: a.Description,
		})
	}
	return out
}

// SchemaFromProto converts a provider schema back.
func SchemaFromProto(s *pluginv1.Schema) platform.Schema {
	out := platform.Schema{Scheduled: s.GetScheduled()}
	for _, a := range s.GetAttributes() {
		out.Attributes = append(out.Attributes, platform.Attribute{
			Name: a.GetName(), Type: platform.AttrType(a.GetType()), Required: a.GetRequired(), Description: a.GetDescription(),
		})
	}
	return out
}

// ValuesToProto encodes provider block values. Accepted Go types are the
// ones platform.Schema documents (string, float64, bool, []string,
// map[string]string) plus int, int64, []any of strings and map[string]any
// of strings, which HCL decoders commonly produce.
func ValuesToProto(values map[string]any) (map[string]*pluginv1.Value, error) {
	out := make(map[string]*pluginv1.Value, len(values))
	for k, v := range values {
		pv, err := valueToProto(v)
		if err != nil {
			return nil, fmt.Errorf("encode provider attribute %q: %w", k, err)
		}
		out[k] = pv
	}
	return out, nil
}

func valueToProto(v any) (*pluginv1.Value, error) {
	switch x := v.(type) {
	case string:
		return &pluginv1.Value{Kind: &pluginv1.Value_StringValue{StringValue: x}}, nil
	case float64:
		return &pluginv1.Value{Kind: &pluginv1.Value_NumberValue{NumberValue: x}}, nil
	case float32:
		return &pluginv1.Value{Kind: &pluginv1.Value_NumberValue{NumberValue: float64(x)}}, nil
	case int:
		return &pluginv1.Value{Kind: &pluginv1.Value_NumberValue{NumberValue: float64(x)}}, nil
	case int64:
		return &pluginv1.Value{Kind: &pluginv1.Value_NumberValue{NumberValue: float64(x)}}, nil
	case bool:
		return &pluginv1.Value{Kind: &pluginv1.Value_BoolValue{BoolValue: x}}, nil
	case []string:
		return &pluginv1.Value{Kind: &pluginv1.Value_ListValue{ListValue: &pluginv1.StringList{Values: x}}}, nil
	case []any:
		l := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list element %d is %T, want string", i, e)
			}
			l = append(l, s)
		}
		return &pluginv1.Value{Kind: &pluginv1.Value_ListValue{ListValue: &pluginv1.StringList{Values: l}}}, nil
	case map[string]string:
		return &pluginv1.Value{Kind: &pluginv1.Value_MapValue{MapValue: &pluginv1.StringMap{Values: x}}}, nil
	case map[string]any:
		m := make(map[string]string, len(x))
		for k, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("map element %q is %T, want string", k, e)
			}
			m[k] = s
		}
		return &pluginv1.Value{Kind: &pluginv1.Value_MapValue{MapValue: &pluginv1.StringMap{Values: m}}}, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// ValuesFromProto decodes provider block values into string, float64,
// bool, []string and map[string]string.
func ValuesFromProto(values map[string]*pluginv1.Value) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		switch x := v.GetKind().(type) {
		case *pluginv1.Value_StringValue:
			out[k] = x.StringValue
		case *pluginv1.Value_NumberValue:
			out[k] = x.NumberValue
		case *pluginv1.Value_BoolValue:
			out[k] = x.BoolValue
		case *pluginv1.Value_ListValue:
			out[k] = append([]string{}, x.ListValue.GetValues()...)
		case *pluginv1.Value_MapValue:
			m := make(map[string]string, len(x.MapValue.GetValues()))
			for mk, mv := range x.MapValue.GetValues() {
				m[mk] = mv
			}
			out[k] = m
		}
	}
	return out
}

// AppToProto converts the part of the app a provider needs.
func AppToProto(a *platform.App) *pluginv1.App {
	if a == nil {
		return nil
	}
	out := &pluginv1.App{Name: a.Name, Env: a.Environ, LinkedDirs: a.LinkedDirs, LinkedFiles: a.LinkedFiles}
	if a.Health != nil {
		out.HealthPort = int32(a.Health.Port)
	}
	return out
}

// AppFromProto converts the app back; nil stays nil.
func AppFromProto(a *pluginv1.App) *platform.App {
	if a == nil {
		return nil
	}
	out := &platform.App{Name: a.GetName(), Environ: a.GetEnv(), LinkedDirs: a.GetLinkedDirs(), LinkedFiles: a.GetLinkedFiles()}
	if a.GetHealthPort() != 0 {
		out.Health = &platform.HealthCheck{Port: int(a.GetHealthPort())}
	}
	return out
}

// EnvToProto converts the part of the environment a provider needs.
func EnvToProto(e *platform.Environment) *pluginv1.Environment {
	if e == nil {
		return nil
	}
	out := &pluginv1.Environment{
		Name: e.Name, DeployTo: e.DeployTo, Env: e.Environ,
		KeepReleases: int32(e.KeepReleases), Processes: e.Processes,
	}
	for _, c := range e.Clusters {
		pc := &pluginv1.Cluster{Name: c.Name, Roles: c.Roles}
		for _, h := range c.Hosts {
			pc.Hosts = append(pc.Hosts, &pluginv1.Host{
				Name: h.Name, Cluster: h.Cluster, Roles: h.Roles, Address: h.Address,
				DeployTo: h.DeployTo, Port: int32(h.Port), Vars: h.Vars,
			})
		}
		out.Clusters = append(out.Clusters, pc)
	}
	return out
}

// EnvFromProto converts the environment back; nil stays nil. The provider
// configuration is not carried: the plugin was configured already.
func EnvFromProto(e *pluginv1.Environment) *platform.Environment {
	if e == nil {
		return nil
	}
	out := &platform.Environment{
		Name: e.GetName(), DeployTo: e.GetDeployTo(), Environ: e.GetEnv(),
		KeepReleases: int(e.GetKeepReleases()), Processes: e.GetProcesses(),
	}
	for _, c := range e.GetClusters() {
		pc := &platform.Cluster{Name: c.GetName(), Roles: c.GetRoles()}
		for _, h := range c.GetHosts() {
			pc.Hosts = append(pc.Hosts, &platform.Host{
				Name: h.GetName(), Cluster: h.GetCluster(), Roles: h.GetRoles(), Address: h.GetAddress(),
				DeployTo: h.GetDeployTo(), Port: int(h.GetPort()), Vars: h.GetVars(),
			})
		}
		out.Clusters = append(out.Clusters, pc)
	}
	return out
}

// MachinesToProto converts machine statuses.
func MachinesToProto(ms []platform.MachineStatus) []*pluginv1.MachineStatus {
	out := make([]*pluginv1.MachineStatus, 0, len(ms))
	for _, m := range ms {
		out = append(out, &pluginv1.MachineStatus{Host: m.Host, State: m.State, Detail: m.Detail})
	}
	return out
}

// MachinesFromProto converts machine statuses back.
func MachinesFromProto(ms []*pluginv1.MachineStatus) []platform.MachineStatus {
	out := make([]platform.MachineStatus, 0, len(ms))
	for _, m := range ms {
		out = append(out, platform.MachineStatus{Host: m.GetHost(), State: m.GetState(), Detail: m.GetDetail()})
	}
	return out
}

// Abilities is a set of abilities, printable for messages.
type Abilities map[pluginv1.Ability]bool

// AbilitiesOf builds a set from a list.
func AbilitiesOf(l []pluginv1.Ability) Abilities {
	a := Abilities{}
	for _, x := range l {
		a[x] = true
	}
	return a
}

// Names returns the abilities' short names, sorted.
func (a Abilities) Names() []string {
	var out []string
	for x, ok := range a {
		if ok {
			out = append(out, AbilityName(x))
		}
	}
	sort.Strings(out)
	return out
}

// AbilityName is the short name of an ability: provisioner, machines, dial.
func AbilityName(x pluginv1.Ability) string {
	switch x {
	case pluginv1.Ability_ABILITY_PROVISIONER:
		return "provisioner"
	case pluginv1.Ability_ABILITY_MACHINES:
		return "machines"
	case pluginv1.Ability_ABILITY_DIAL:
		return "dial"
	case pluginv1.Ability_ABILITY_SCHEDULER:
		return "scheduler"
	}
	return x.String()
}
