package environments

import (
	"strings"
	"testing"
)

func TestExpandHosts(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		want    []string
		err     string
	}{
		{name: "plain name", pattern: "db1.example.org", want: []string{"db1.example.org"}},
		{name: "range", pattern: "web[1:3].example.org", want: []string{"web1.example.org", "web2.example.org", "web3.example.org"}},
		{name: "one host range", pattern: "web[5:5]", want: []string{"web5"}},
		{name: "zero padding kept", pattern: "web[08:10]", want: []string{"web08", "web09", "web10"}},
		{name: "wide padding", pattern: "n[001:002]", want: []string{"n001", "n002"}},
		{name: "zero start without padding", pattern: "n[0:1]", want: []string{"n0", "n1"}},
		{name: "range at the start", pattern: "[1:2]x", want: []string{"1x", "2x"}},
		{name: "two ranges multiply", pattern: "r[1:2]-w[1:2]", want: []string{"r1-w1", "r1-w2", "r2-w1", "r2-w2"}},
		{name: "counts down", pattern: "web[3:1]", err: "counts down"},
		{name: "not a number", pattern: "web[a:b]", err: "is not a range"},
		{name: "no colon", pattern: "web[12]", err: "is not a range"},
		{name: "negative", pattern: "web[-1:2]", err: "is not a range"},
		{name: "unclosed", pattern: "web[1:2", err: "unclosed"},
		{name: "stray bracket", pattern: "web1]", err: `"]" without "["`},
		{name: "bad second range", pattern: "a[1:2]b[2:1]", err: "counts down"},
		{name: "too many", pattern: "h[1:20000]", err: "more than 10000 hosts"},
		{name: "empty", pattern: "", err: "empty host name"},
		{name: "space", pattern: "web 1", err: "not a host name"},
		{name: "slash after a range", pattern: "web[1:2]/x", err: "not a host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expandHosts(tt.pattern)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("expandHosts(%q) = %v, %v; want error containing %q", tt.pattern, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "hosts", got, tt.want)
		})
	}
}
