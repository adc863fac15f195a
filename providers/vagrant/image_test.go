package vagrant

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestEnsureImage(t *testing.T) {
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := EnsureImage(ctx); err != nil {
		t.Fatal(err)
	}
	_, recipe, err := imageContext()
	if err != nil {
		t.Fatal(err)
	}
	got, err := imageLabel(ctx, DefaultImage, recipeLabel)
	if err != nil {
		t.Fatal(err)
	}
	if got != recipe {
		t.Fatalf("image label %s = %q, want %q", recipeLabel, got, recipe)
	}
	// The image has what Vagrant needs: the vagrant user with passwordless
	// sudo and sshd.
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "--entrypoint", "sh", DefaultImage,
		"-c", "id -un vagrant && sudo -l -U vagrant | grep -c NOPASSWD && test -x /usr/sbin/sshd && echo ok").CombinedOutput()
	if err != nil {
		t.Fatalf("inspect image: %v\n%s", err, out)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(out)), "ok") || !strings.HasPrefix(string(out), "vagrant\n") {
		t.Fatalf("image check output:\n%s", out)
	}
}
