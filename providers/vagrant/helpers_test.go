package vagrant

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// requireDocker fails (not skips) without a Docker daemon: the tests use
// real components, and CI has Docker.
func requireDocker(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Fatalf("docker is needed: %v\n%s", err, out)
	}
}
