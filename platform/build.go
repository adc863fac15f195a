package platform

import (
	"context"
	"io"
)

// Builder turns a source tree into a runnable release tree, in place.
type Builder interface {
	// Build runs the buildpacks over req.Dir. A failed build returns an
	// error that carries the buildpack's name and the tail of its output.
	Build(ctx context.Context, req *BuildRequest) (*BuildResult, error)
}

// BuildRequest is one build on the build machine.
type BuildRequest struct {
	// Dir is the app tree, already stripped of VCS dirs; buildpacks write
	// into it (a virtualenv, a binary, compiled assets).
	Dir string
	// Buildpacks is the explicit chain (names, local paths or git URLs);
	// empty means detect.
	Buildpacks []string
	// CacheDir persists between builds of the same app and environment.
	CacheDir string
	// Env holds config vars (Heroku's ENV_DIR is made from it).
	Env    map[string]string
	Output io.Writer
}

// BuildResult tells what the build did.
type BuildResult struct {
	// Buildpacks that ran, in order.
	Buildpacks []string
	// Processes are the process types (Procfile merged over the
	// buildpacks' defaults); the builder also writes them to Dir/Procfile.
	Processes map[string]string
}
