package buildpacks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/plat-sh/plat/platform"
)

// testdataPath is an absolute path under testdata.
func testdataPath(t *testing.T, elem ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"testdata"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// copyApp copies testdata/apps/name into a fresh temp dir and returns the
// copy, so builds never write into testdata.
func copyApp(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := copyTree(testdataPath(t, "apps", name), dst); err != nil {
		t.Fatalf("copy app %s: %v", name, err)
	}
	return dst
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newTestBuilder(t *testing.T, opts Options) *Builder {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.BaseDir == "" {
		opts.BaseDir = testdataPath(t)
	}
	return New(opts)
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a
// command's stdout and stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mustBuild builds and fails the test (showing the build output) on error.
func mustBuild(t *testing.T, b *Builder, req *platform.BuildRequest) (*platform.BuildResult, string) {
	t.Helper()
	var out syncBuffer
	req.Output = &out
	if req.CacheDir == "" {
		req.CacheDir = t.TempDir()
	}
	res, err := b.Build(context.Background(), req)
	if err != nil {
		t.Fatalf("build %s: %v\noutput:\n%s", req.Dir, err, out.String())
	}
	return res, out.String()
}

func readFile(t *testing.T, elem ...string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(elem...))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// treeDigest describes every entry under dir: mode plus content hash for
// files, link target for symlinks.
func treeDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	d := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			d[rel] = "symlink " + target
		case e.IsDir():
			d[rel] = fmt.Sprintf("dir %v", info.Mode())
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			d[rel] = fmt.Sprintf("file %v %s", info.Mode(), hex.EncodeToString(sum[:]))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return d
}

// shell runs a POSIX shell script in dir and returns its combined output.
func shell(t *testing.T, dir, script string, env ...string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh -c %q in %s: %v\n%s", script, dir, err, out)
	}
	return string(out)
}
