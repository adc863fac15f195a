package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
)

func hosts(n int) []*platform.Target {
	var ts []*platform.Target
	for i := 1; i <= n; i++ {
		ts = append(ts, &platform.Target{Name: fmt.Sprintf("web%d", i)})
	}
	return ts
}

func TestStages(t *testing.T) {
	tests := []struct {
		name  string
		spec  []string
		n     int
		want  string
		error string
	}{
		{name: "canary, half, rest", spec: []string{"1", "50%", "100%"}, n: 6, want: "web1|web2 web3|web4 web5 web6"},
		{name: "default is one stage", spec: nil, n: 3, want: "web1 web2 web3"},
		{name: "percentages round up", spec: []string{"25%", "100%"}, n: 13, want: "web1 web2 web3 web4|web5 web6 web7 web8 web9 web10 web11 web12 web13"},
		{name: "the last stage covers the rest", spec: []string{"2"}, n: 5, want: "web1 web2|web3 web4 web5"},
		{name: "empty stages are skipped", spec: []string{"1", "10%", "100%"}, n: 4, want: "web1|web2 web3 web4"},
		{name: "count beyond the fleet", spec: []string{"10"}, n: 3, want: "web1 web2 web3"},
		{name: "bad percentage", spec: []string{"110%"}, n: 3, error: `rollout stage "110%"`},
		{name: "zero", spec: []string{"0"}, n: 3, error: `rollout stage "0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stages(tt.spec, hosts(tt.n))
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) {
					t.Fatalf("err = %v, want %q", err, tt.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, s := range got {
				parts = append(parts, strings.Join(names(s), " "))
			}
			if g := strings.Join(parts, "|"); g != tt.want {
				t.Errorf("stages = %s, want %s", g, tt.want)
			}
		})
	}
}

func TestMaxFailures(t *testing.T) {
	tests := []struct {
		spec string
		n    int
		want int
	}{{"", 10, 0}, {"1", 10, 1}, {"10%", 10, 1}, {"25%", 6, 1}, {"50%", 5, 2}}
	for _, tt := range tests {
		if got := maxFailures(tt.spec, tt.n); got != tt.want {
			t.Errorf("maxFailures(%q, %d) = %d, want %d", tt.spec, tt.n, got, tt.want)
		}
	}
}
