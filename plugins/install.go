package plugins

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Install puts a plugin binary into dir and records it in dir's lock file
// (LockFileFor(dir), e.g. .plat/plugins -> .plat/plugins.lock.hcl).
//
// src is one of:
//   - a plugin binary (a file): copied;
//   - a Go main package directory: built with `go build`;
//   - MODULE@VERSION: built with `GOBIN=... go install MODULE@VERSION`.
//
// The binary must be named plat-provider-<name> (for a package, its
// directory or module path's last element). The installed plugin is
// started once to check the handshake and read its version.
func Install(ctx context.Context, src, dir string) (*LockEntry, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("install plugin %s: %w", src, err)
	}
	stage, err := os.MkdirTemp(dir, ".install-")
	if err != nil {
		return nil, fmt.Errorf("install plugin %s: %w", src, err)
	}
	defer os.RemoveAll(stage)

	built, err := stagePlugin(ctx, src, stage)
	if err != nil {
		return nil, fmt.Errorf("install plugin %s: %w", src, err)
	}
	base := filepath.Base(built)
	if !strings.HasPrefix(base, BinaryPrefix) || base == BinaryPrefix {
		return nil, fmt.Errorf("install plugin %s: %s is not named %s<name>\nhint: provider plugins are named after their provider type, e.g. plat-provider-dirs",
			src, base, BinaryPrefix)
	}
	// Ask the staged binary first: a broken plugin never replaces a good one.
	c, err := Open(ctx, built, Options{})
	if err != nil {
		return nil, fmt.Errorf("install plugin %s: %w", src, err)
	}
	version := c.Version()
	c.Close()

	dst, err := filepath.Abs(filepath.Join(dir, base))
	if err != nil {
		return nil, fmt.Errorf("install plugin %s: %w", src, err)
	}
	if err := os.Rename(built, dst); err != nil {
		return nil, fmt.Errorf("install plugin %s: %w", src, err)
	}
	e, err := lockEntry(LockFileFor(dir), dst, version)
	if err != nil {
		return nil, fmt.Errorf("install plugin %s: %w", src, err)
	}
	return e, nil
}

// stagePlugin produces the binary in stage and returns its path.
func stagePlugin(ctx context.Context, src, stage string) (string, error) {
	if fi, err := os.Stat(src); err == nil {
		if fi.IsDir() {
			abs, err := filepath.Abs(src)
			if err != nil {
				return "", err
			}
			out := filepath.Join(stage, filepath.Base(abs))
			if err := goTool(ctx, abs, nil, "build", "-o", out, "."); err != nil {
				return "", err
			}
			return out, nil
		}
		out := filepath.Join(stage, filepath.Base(src))
		return out, copyExecutable(src, out)
	}
	if i := strings.LastIndex(src, "@"); i > 0 && i < len(src)-1 {
		bin := filepath.Join(stage, "bin")
		if err := goTool(ctx, stage, []string{"GOBIN=" + bin}, "install", src); err != nil {
			return "", err
		}
		ents, err := os.ReadDir(bin)
		if err != nil || len(ents) != 1 {
			return "", fmt.Errorf("go install %s produced %d binaries, want 1", src, len(ents))
		}
		return filepath.Join(bin, ents[0].Name()), nil
	}
	return "", fmt.Errorf("%s is neither a file, a directory nor MODULE@VERSION", src)
}

// goTool runs the go command in dir; its output becomes the error.
func goTool(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
