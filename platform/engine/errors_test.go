package engine

import (
	"errors"
	"testing"
)

func TestErrorsNameHostAndStepOnce(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"host error", &HostError{Host: "web1", Step: "upload", Err: errors.New("disk full")}, "host web1: upload: disk full"},
		{"the step already named", &HostError{Host: "localhost", Step: "build", Err: errors.New("build: no buildpack applies")}, "host localhost: build: no buildpack applies"},
		{"a prefix that is not the step", &HostError{Host: "web1", Step: "build", Err: errors.New("builder: x")}, "host web1: build: builder: x"},
		{"deploy error", &DeployError{Op: "rollback to r9", Hosts: map[string]error{
			"web2": &HostError{Host: "web2", Step: "rollback", Err: errors.New("gone")},
			"web1": errors.New("exit status 1"),
		}}, "rollback to r9\n  web1: exit status 1\n  web2: rollback: gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
