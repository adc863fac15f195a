package ssh

import (
	"bytes"
	"testing"
)

func TestPidFilter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
		pid    int
	}{
		{"marker first", []string{"plat-pid 42\nerr\n"}, "err\n", 42},
		{"split writes", []string{"plat-p", "id 7", "\ner", "r\n"}, "err\n", 7},
		{"startup noise before the marker", []string{"bashrc says hi\n", "plat-pid 9\nerr\n"}, "bashrc says hi\nerr\n", 9},
		{"marker text later is output", []string{"plat-pid 1\nplat-pid 2\n"}, "plat-pid 2\n", 1},
		{"no marker, unterminated", []string{"oops"}, "oops", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			f := newPidFilter(&out)
			for _, w := range tt.writes {
				if n, err := f.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			f.flush()
			if out.String() != tt.want || f.pid() != tt.pid {
				t.Fatalf("output %q pid %d, want %q pid %d", out.String(), f.pid(), tt.want, tt.pid)
			}
		})
	}
}
