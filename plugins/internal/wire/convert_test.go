package wire

import (
	"reflect"
	"testing"

	"github.com/plat-sh/plat/platform"
)

func TestValuesRoundTrip(t *testing.T) {
	in := map[string]any{
		"s": "x", "f": 1.5, "i": 3, "i64": int64(4), "b": true,
		"l": []string{"a", "b"}, "la": []any{"c"}, "m": map[string]string{"k": "v"}, "ma": map[string]any{"k2": "v2"},
	}
	pv, err := ValuesToProto(in)
	if err != nil {
		t.Fatal(err)
	}
	got := ValuesFromProto(pv)
	want := map[string]any{
		"s": "x", "f": 1.5, "i": 3.0, "i64": 4.0, "b": true,
		"l": []string{"a", "b"}, "la": []string{"c"}, "m": map[string]string{"k": "v"}, "ma": map[string]string{"k2": "v2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip = %#v\nwant %#v", got, want)
	}
	cfg := platform.ProviderConfig{Values: got}
	if cfg.Int("i", 0) != 3 || cfg.Strings("la")[0] != "c" {
		t.Errorf("ProviderConfig accessors on decoded values: %d %q", cfg.Int("i", 0), cfg.Strings("la"))
	}
	for _, bad := range []any{[]any{1}, map[string]any{"k": 2}, struct{}{}} {
		if _, err := ValuesToProto(map[string]any{"x": bad}); err == nil {
			t.Errorf("encoding %#v succeeded", bad)
		}
	}
}

func TestEnvRoundTrip(t *testing.T) {
	in := &platform.Environment{
		Name: "prod", DeployTo: "/srv/app", Environ: map[string]string{"A": "1"}, KeepReleases: 5, Processes: "systemd",
		Clusters: []*platform.Cluster{{Name: "web", Roles: []string{"app"}, Hosts: []*platform.Host{{
			Name: "web1", Cluster: "web", Roles: []string{"db"}, Address: "10.0.0.1", DeployTo: "/x", Port: 8001,
			Vars: map[string]string{"k": "v"},
		}}}},
	}
	if got := EnvFromProto(EnvToProto(in)); !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip = %#v", got)
	}
	app := &platform.App{Name: "a", Environ: map[string]string{"B": "2"}, Health: &platform.HealthCheck{Port: 9000}}
	if got := AppFromProto(AppToProto(app)); got.Name != "a" || got.Health.Port != 9000 || got.Environ["B"] != "2" {
		t.Fatalf("app round trip = %#v", got)
	}
	if EnvFromProto(EnvToProto(nil)) != nil || AppFromProto(AppToProto(nil)) != nil {
		t.Error("nil does not stay nil")
	}
}
