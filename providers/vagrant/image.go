package vagrant

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
)

// DefaultImage is the image machines run with the docker provider when the
// provider block names none: BaseImage plus a vagrant user and sshd.
const DefaultImage = "plat/vagrant-sshd:bookworm"

// BaseImage is what DefaultImage is built FROM; the docker provider's
// build-base command makes it (debootstrap, no registry involved).
const BaseImage = "plat/base:bookworm"

// recipeLabel records which recipe built DefaultImage, so an image made by
// an older plat is rebuilt rather than trusted.
const recipeLabel = "sh.plat.vagrant-recipe"

//go:embed image/Dockerfile image/plat-vagrant-init
var imageFiles embed.FS

// imageContext returns the build context (a tar stream) and a digest of
// it: the Dockerfile and the container init script, nothing from the
// network.
func imageContext() ([]byte, string, error) {
	var buf bytes.Buffer
	h := sha256.New()
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"Dockerfile", "plat-vagrant-init"} {
		data, err := fs.ReadFile(imageFiles, "image/"+name)
		if err != nil {
			return nil, "", err
		}
		mode := int64(0o644)
		if name == "plat-vagrant-init" {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data))}); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(data))
		h.Write(data)
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), hex.EncodeToString(h.Sum(nil))[:16], nil
}

// EnsureImage builds DefaultImage with the docker CLI unless an image of
// that tag built from the same recipe exists. The build needs BaseImage
// locally and nothing from the network. Concurrent builds are harmless:
// they produce the same image and the last tag wins.
func EnsureImage(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("build vagrant image: docker not found in PATH: install Docker (apt-get install docker.io); Vagrant's docker provider needs it too")
	}
	tarball, recipe, err := imageContext()
	if err != nil {
		return fmt.Errorf("build vagrant image: %w", err)
	}
	have, err := imageLabel(ctx, DefaultImage, recipeLabel)
	if err != nil && !errors.Is(err, errNoImage) {
		return err
	}
	if have == recipe {
		return nil
	}
	if _, err := imageLabel(ctx, BaseImage, recipeLabel); errors.Is(err, errNoImage) {
		return fmt.Errorf("build vagrant image %s: base image %s not found: build it first (go run ./providers/docker/cmd/build-base)", DefaultImage, BaseImage)
	} else if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "docker", "build", "--quiet",
		"--build-arg", "BASE="+BaseImage,
		"--label", recipeLabel+"="+recipe,
		"--tag", DefaultImage, "-")
	cmd.Stdin = bytes.NewReader(tarball)
	cmd.Env = append(cmd.Environ(), "DOCKER_BUILDKIT=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build vagrant image %s: %w: %s", DefaultImage, err, tail(stderr.String(), 20))
	}
	return nil
}

var errNoImage = errors.New("no such image")

// imageLabel returns the value of label on image ref ("" when unset), or
// errNoImage (wrapped) when there is no such image. A missing image is
// reported as such; a missing tag on an existing image is not an error.
func imageLabel(ctx context.Context, ref, label string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", "image", "inspect", "--format",
		fmt.Sprintf(`{{index .Config.Labels %q}}`, label), ref)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(strings.ToLower(stderr.String()), "no such image") {
			return "", fmt.Errorf("inspect image %s: %w", ref, errNoImage)
		}
		return "", fmt.Errorf("inspect image %s: %w: %s", ref, err, strings.TrimSpace(stderr.String()))
	}
	v := strings.TrimSpace(stdout.String())
	if v == "<no value>" {
		v = ""
	}
	return v, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
