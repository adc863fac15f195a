package remote

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/plat-sh/plat/platform"
)

var (
	//go:embed probe.sh
	probeScript string
	//go:embed install.sh
	installScript string
	//go:embed run.sh
	runScript string
	//go:embed prune.sh
	pruneScript string
)

// BinDir is where plat keeps its binaries on an admin node, relative to
// the login user's $HOME.
const BinDir = ".plat/bin"

// KeepBinaries is how many plat binaries an upload leaves in BinDir:
// every dev build is a file of its own, so after each upload Ensure
// removes the older ones beyond the newest KeepBinaries (by modification
// time), except the one just uploaded and any a running process executes.
const KeepBinaries = 3

// Build identifies a plat build, as `plat version --json` reports it.
type Build struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
}

// String is "VERSION (COMMIT) OS/ARCH".
func (b Build) String() string {
	s := b.Version
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (" + c
		if b.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + b.OS + "/" + b.Arch
}

// same reports whether o is the same build as b.
func (b Build) same(o Build) bool {
	return b.Version == o.Version && b.Commit == o.Commit && b.Modified == o.Modified && b.OS == o.OS && b.Arch == o.Arch
}

// release is a build a version names on its own: a tagged, unmodified
// build (a pseudo-version names its commit too).
func (b Build) release() bool {
	return b.Version != "" && b.Version != "dev" && !b.Modified && !strings.Contains(b.Version, "+")
}

// Binary is the plat executable this process runs, to be run on an
// admin node.
type Binary struct {
	Build Build
	// Path is the local executable (os.Executable).
	Path   string
	SHA256 string
	Size   int64
}

// LocalBinary describes the running executable as build b.
func LocalBinary(b Build) (*Binary, error) {
	path, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find plat's own executable: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read plat's own executable: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("read plat's own executable %s: %w", path, err)
	}
	return &Binary{Build: b, Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Name is the binary's path on the admin node, relative to $HOME.
func (b *Binary) Name() string {
	v := unsafeName.ReplaceAllString(b.Build.Version, "_")
	if v == "" {
		v = "dev"
	}
	if b.Build.release() {
		return BinDir + "/plat-" + v
	}
	return BinDir + "/plat-" + v + "-" + b.SHA256[:12]
}

// ErrPlatform is wrapped by Ensure's error when the admin node is
// another OS or architecture than this plat, which cannot then upload
// itself.
var ErrPlatform = errors.New("admin node runs another OS or architecture")

// Probe is what Ensure found on the admin node.
type Probe struct {
	// OS and Arch are the admin node's, as Go names them.
	OS, Arch string
	// Found is the build at the binary's path; nil when there is none (or
	// it does not run).
	Found *Build
}

// probe runs probe.sh for b.
func probe(ctx context.Context, t platform.Transport, b *Binary) (*Probe, error) {
	var out, errb bytes.Buffer
	err := t.Run(ctx, &platform.Command{Args: []string{"sh", "-c", probeScript, "plat", b.Name()}, Stdout: &out, Stderr: &errb})
	if err != nil {
		return nil, fmt.Errorf("probe for plat: %w", withStderr(err, &errb))
	}
	return parseProbe(out.String())
}

// parseProbe reads probe.sh's output.
func parseProbe(out string) (*Probe, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	if !sc.Scan() {
		return nil, errors.New("probe for plat: no output")
	}
	f := strings.Fields(sc.Text())
	if len(f) != 3 || f[0] != "uname" {
		return nil, fmt.Errorf("probe for plat: unexpected output %q", sc.Text())
	}
	p := &Probe{OS: goOS(f[1]), Arch: goArch(f[2])}
	rest := strings.TrimSpace(out[strings.Index(out, "\n")+1:])
	if rest != "" {
		var b Build
		if json.Unmarshal([]byte(rest), &b) == nil && b.Version != "" {
			p.Found = &b
		}
	}
	return p, nil
}

// goOS maps `uname -s` to GOOS.
func goOS(s string) string {
	switch strings.ToLower(s) {
	case "linux":
		return "linux"
	case "darwin":
		return "darwin"
	case "freebsd":
		return "freebsd"
	case "openbsd":
		return "openbsd"
	case "netbsd":
		return "netbsd"
	}
	return strings.ToLower(s)
}

// goArch maps `uname -m` to GOARCH.
func goArch(m string) string {
	switch m {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "i386", "i486", "i586", "i686":
		return "386"
	case "armv6l", "armv7l", "armv7", "arm":
		return "arm"
	}
	return m
}

// Ensure makes sure the admin node behind t has b at b.Name(), and
// returns that path (relative to $HOME) and whether it uploaded it. A
// binary already there that reports the same build is reused. Before an
// upload, announce (if set) is told what is sent; after one, Ensure
// prunes BinDir (KeepBinaries) and tells announce what it removed, or
// why it could not (which does not fail Ensure).
func Ensure(ctx context.Context, t platform.Transport, b *Binary, announce func(msg string)) (path string, uploaded bool, err error) {
	p, err := probe(ctx, t, b)
	if err != nil {
		return "", false, err
	}
	if p.Found != nil && p.Found.same(b.Build) {
		return b.Name(), false, nil
	}
	if p.OS != b.Build.OS || p.Arch != b.Build.Arch {
		return "", false, fmt.Errorf("%w: it is %s/%s, this plat is %s/%s and cannot run there; install plat %s for %s/%s at ~/%s on it, or push from a %s/%s machine",
			ErrPlatform, p.OS, p.Arch, b.Build.OS, b.Build.Arch, b.Build.Version, p.OS, p.Arch, b.Name(), p.OS, p.Arch)
	}
	if announce != nil {
		what := "not there"
		if p.Found != nil {
			what = "there is " + p.Found.String()
		}
		announce(fmt.Sprintf("uploading plat %s (%.1f MB) to ~/%s (%s)", b.Build, float64(b.Size)/(1<<20), b.Name(), what))
	}
	f, err := os.Open(b.Path)
	if err != nil {
		return "", false, fmt.Errorf("upload plat: %w", err)
	}
	defer f.Close()
	var errb bytes.Buffer
	if err := t.Run(ctx, &platform.Command{Args: []string{"sh", "-c", installScript, "plat", b.Name(), b.SHA256}, Stdin: f, Stderr: &errb}); err != nil {
		return "", false, fmt.Errorf("upload plat to ~/%s: %w", b.Name(), withStderr(err, &errb))
	}
	p, err = probe(ctx, t, b)
	if err != nil {
		return "", false, err
	}
	if p.Found == nil || !p.Found.same(b.Build) {
		got := "nothing"
		if p.Found != nil {
			got = p.Found.String()
		}
		return "", false, fmt.Errorf("uploaded plat to ~/%s, but it reports %s, not %s (a plat built with cgo needs the admin node's C library to match; release builds are static)", b.Name(), got, b.Build)
	}
	removed, err := prune(ctx, t, b.Name(), KeepBinaries)
	if announce != nil {
		switch {
		case err != nil:
			announce(fmt.Sprintf("could not remove older plat binaries from ~/%s: %v", BinDir, err))
		case len(removed) > 0:
			announce(fmt.Sprintf("removed %d older plat binaries from ~/%s (it keeps the newest %d and those running): %s", len(removed), BinDir, KeepBinaries, strings.Join(removed, ", ")))
		}
	}
	return b.Name(), true, nil
}

// prune runs prune.sh: it removes the plat binaries beside keep beyond
// the newest n, except keep and those running, and returns their names.
func prune(ctx context.Context, t platform.Transport, keep string, n int) ([]string, error) {
	var out, errb bytes.Buffer
	err := t.Run(ctx, &platform.Command{Args: []string{"sh", "-c", pruneScript, "plat", keep, strconv.Itoa(n)}, Stdout: &out, Stderr: &errb})
	removed := strings.Fields(out.String())
	sort.Strings(removed)
	if err != nil {
		return removed, withStderr(err, &errb)
	}
	return removed, nil
}

// withStderr adds a command's stderr to its error.
func withStderr(err error, stderr *bytes.Buffer) error {
	if s := strings.TrimSpace(stderr.String()); s != "" {
		return fmt.Errorf("%w: %s", err, s)
	}
	return err
}
