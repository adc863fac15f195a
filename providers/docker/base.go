package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform/filelock"
)

// DefaultImage is the base image plat builds and the docker provider uses
// when a provider block names none.
const DefaultImage = "plat/base:bookworm"

// DefaultPackages are installed into the base image on top of debootstrap's
// minbase variant: what plat's on-host recipe needs (a shell, coreutils,
// tar, procps, python3 for the example app), plus sshd and sudo so the same
// image can stand in for an SSH host.
func DefaultPackages() []string {
	return []string{
		"python3", "openssh-server", "sudo", "procps", "ca-certificates",
		"curl", "tar", "coreutils", "iproute2",
	}
}

// defaultMirror is used when this machine's apt sources name no mirror for
// the suite (a non-Debian build machine).
const defaultMirror = "http://deb.debian.org/debian"

// BaseOptions configures BuildBase. The zero value builds DefaultImage
// from Debian bookworm with DefaultPackages from this machine's mirror.
type BaseOptions struct {
	// Tag is the image reference to create; "" means DefaultImage.
	Tag string
	// Suite is the Debian release; "" means "bookworm".
	Suite string
	// Mirror is the Debian archive URL; "" means the one this machine's apt
	// sources use for Suite (see DebianMirror).
	Mirror string
	// Include lists the packages added to minbase; nil means DefaultPackages().
	Include []string
	// CacheDir keeps downloaded .debs between builds; "" means
	// <user cache dir>/plat/debootstrap.
	CacheDir string
	// WorkDir is where the rootfs is assembled (and removed); "" means the
	// system temp directory.
	WorkDir string
	// Output receives debootstrap's and the import's progress (nil: discarded).
	Output io.Writer
}

func (o BaseOptions) withDefaults() (BaseOptions, error) {
	if o.Tag == "" {
		o.Tag = DefaultImage
	}
	if o.Suite == "" {
		o.Suite = "bookworm"
	}
	if o.Mirror == "" {
		o.Mirror = DebianMirror("/etc/apt", o.Suite)
	}
	if o.Include == nil {
		o.Include = DefaultPackages()
	}
	if o.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return o, fmt.Errorf("find a cache directory for debootstrap: %w", err)
		}
		o.CacheDir = filepath.Join(dir, "plat", "debootstrap")
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	return o, nil
}

// EnsureBase builds the base image unless its tag already exists on the
// daemon; it returns the tag. Concurrent callers on one machine (parallel
// test packages, two plat commands) build it once: they serialise on a lock
// file in the cache directory and re-check the tag after taking it.
func EnsureBase(ctx context.Context, c *Client, opts BaseOptions) (string, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return "", err
	}
	if ok, err := c.imageExists(ctx, o.Tag); err != nil || ok {
		return o.Tag, err
	}
	unlock, err := lockBuild(ctx, o.CacheDir)
	if err != nil {
		return "", err
	}
	defer unlock()
	if ok, err := c.imageExists(ctx, o.Tag); err != nil || ok {
		return o.Tag, err
	}
	return buildBase(ctx, c, o)
}

// BuildBase builds the base image and tags it, replacing an image of the
// same tag: debootstrap --variant=minbase into a temporary rootfs, then the
// Engine API's image import of a tar stream of that rootfs. It needs root
// (debootstrap does) and the debootstrap program.
func BuildBase(ctx context.Context, c *Client, opts BaseOptions) (string, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return "", err
	}
	unlock, err := lockBuild(ctx, o.CacheDir)
	if err != nil {
		return "", err
	}
	defer unlock()
	return buildBase(ctx, c, o)
}

func buildBase(ctx context.Context, c *Client, o BaseOptions) (string, error) {
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("build base image %s: debootstrap needs root (%w): run the build as root (e.g. `sudo make base-image`)", o.Tag, errCannotBuild)
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return "", fmt.Errorf("build base image %s: debootstrap not found (%w): install it with `apt-get install debootstrap`", o.Tag, errCannotBuild)
	}
	work, err := os.MkdirTemp(o.WorkDir, "plat-rootfs-")
	if err != nil {
		return "", fmt.Errorf("build base image: %w", err)
	}
	defer os.RemoveAll(work)
	rootfs := filepath.Join(work, "rootfs")

	fmt.Fprintf(o.Output, "debootstrap %s from %s into %s\n", o.Suite, o.Mirror, rootfs)
	if err := debootstrap(ctx, o, rootfs); err != nil {
		return "", err
	}
	if err := trimRootfs(rootfs); err != nil {
		return "", fmt.Errorf("build base image: %w", err)
	}
	fmt.Fprintf(o.Output, "importing %s as %s\n", rootfs, o.Tag)
	if err := c.importRootfs(ctx, rootfs, o); err != nil {
		return "", err
	}
	return o.Tag, nil
}

// errCannotBuild marks a machine that cannot build the base image at all
// (not root, no debootstrap), as opposed to a build that failed.
var errCannotBuild = errors.New("cannot build here")

// debootstrapArgs is the debootstrap command line (a pure function, tested
// by equality).
func debootstrapArgs(o BaseOptions, rootfs string) []string {
	args := []string{"--variant=minbase"}
	if len(o.Include) > 0 {
		args = append(args, "--include="+strings.Join(o.Include, ","))
	}
	if o.CacheDir != "" {
		args = append(args, "--cache-dir="+o.CacheDir)
	}
	return append(args, o.Suite, rootfs, o.Mirror)
}

func debootstrap(ctx context.Context, o BaseOptions, rootfs string) error {
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return fmt.Errorf("create debootstrap cache: %w", err)
	}
	var tail tailBuffer
	cmd := exec.CommandContext(ctx, "debootstrap", debootstrapArgs(o, rootfs)...)
	cmd.Stdout = io.MultiWriter(o.Output, &tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("run debootstrap: %w", ctx.Err())
		}
		return fmt.Errorf("run debootstrap %s from %s: %w\n%s", o.Suite, o.Mirror, err, tail.String())
	}
	return nil
}

// trimRootfs drops what must not be shared by every container made from
// the image (SSH host keys: whoever starts sshd runs `ssh-keygen -A` first)
// and what only weighs (downloaded packages, apt lists, logs).
func trimRootfs(rootfs string) error {
	globs := []string{
		"etc/ssh/ssh_host_*",
		"var/cache/apt/archives/*.deb",
		"var/cache/apt/*.bin",
		"var/lib/apt/lists/*_*",
		"var/log/*.log",
		"var/log/apt/*",
		"etc/machine-id",
	}
	for _, g := range globs {
		matches, err := filepath.Glob(filepath.Join(rootfs, g))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return fmt.Errorf("trim rootfs: %w", err)
			}
		}
	}
	// An empty machine-id is what Debian's own images ship.
	return os.WriteFile(filepath.Join(rootfs, "etc/machine-id"), nil, 0o444)
}

// importChanges are the Dockerfile-style instructions applied on import.
func importChanges() []string {
	return []string{
		`ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
		`ENV LANG=C.UTF-8`,
		`LABEL plat.image=base`,
		`CMD ["sleep", "infinity"]`,
	}
}

func (c *Client) importRootfs(ctx context.Context, rootfs string, o BaseOptions) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeRootfsTar(pw, rootfs)) }()
	defer pr.Close()
	resp, err := c.api.ImageImport(ctx,
		client.ImageImportSource{Source: pr, SourceName: "-"},
		o.Tag,
		client.ImageImportOptions{
			Message: fmt.Sprintf("plat base: debootstrap --variant=minbase %s", o.Suite),
			Changes: importChanges(),
		})
	if err != nil {
		if client.IsErrConnectionFailed(err) {
			return c.unreachable(err)
		}
		return fmt.Errorf("import %s: %w", o.Tag, err)
	}
	defer resp.Close()
	return readProgress(resp, o.Output)
}

// readProgress reads the daemon's JSON progress stream and returns the
// error it reports, if any.
func readProgress(r io.Reader, out io.Writer) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Status      string `json:"status"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read import progress: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return fmt.Errorf("import image: %s", m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return fmt.Errorf("import image: %s", m.Error)
		}
		if m.Status != "" {
			fmt.Fprintln(out, m.Status)
		}
	}
}

// writeRootfsTar writes dir as a tar stream with numeric owners (names on
// this machine mean nothing inside the image), hard links kept, and the
// contents of /dev, /proc and /sys left out (the runtime mounts them).
func writeRootfsTar(w io.Writer, dir string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	tw := tar.NewWriter(bw)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, skip := range []string{"dev/", "proc/", "sys/"} {
			if strings.HasPrefix(rel, skip) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("tar %s: %w", rel, err)
		}
		hdr.Name = rel
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
			if fi.Mode().IsRegular() && st.Nlink > 1 {
				key := inode{uint64(st.Dev), st.Ino}
				if first, ok := seen[key]; ok {
					hdr.Typeflag = tar.TypeLink
					hdr.Linkname = first
					hdr.Size = 0
				} else {
					seen[key] = rel
				}
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("write rootfs tar: %w", err)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func (c *Client) imageExists(ctx context.Context, ref string) (bool, error) {
	_, err := c.api.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	case client.IsErrConnectionFailed(err):
		return false, c.unreachable(err)
	default:
		return false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
}

// lockBuild serialises base image builds sharing dir (another builder on
// this machine waits); ctx cancels the wait.
func lockBuild(ctx context.Context, dir string) (func(), error) {
	unlock, err := filelock.Lock(ctx, filepath.Join(dir, "build.lock"))
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("wait for another base image build: %w", ctx.Err())
	}
	return unlock, err
}

// DebianMirror returns the archive URL this machine's apt uses for suite,
// read from aptDir/sources.list, aptDir/sources.list.d/*.list (one-line
// format) and aptDir/sources.list.d/*.sources (deb822). Security and other
// suites do not count; with no match it returns deb.debian.org.
func DebianMirror(aptDir, suite string) string {
	var files []string
	files = append(files, filepath.Join(aptDir, "sources.list"))
	for _, pat := range []string{"*.list", "*.sources"} {
		m, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", pat))
		files = append(files, m...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var uri string
		if strings.HasSuffix(f, ".sources") {
			uri = mirrorFromDeb822(data, suite)
		} else {
			uri = mirrorFromList(data, suite)
		}
		if uri != "" {
			return strings.TrimRight(uri, "/")
		}
	}
	return defaultMirror
}

func mirrorFromList(data []byte, suite string) string {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") { // [arch=amd64 signed-by=...]
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) >= 2 && f[1] == suite && isHTTP(f[0]) {
			return f[0]
		}
	}
	return ""
}

func mirrorFromDeb822(data []byte, suite string) string {
	for _, stanza := range bytes.Split(data, []byte("\n\n")) {
		fields := map[string]string{}
		for _, line := range strings.Split(string(stanza), "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				continue
			}
			fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if strings.EqualFold(fields["enabled"], "no") || !containsField(fields["types"], "deb") ||
			!containsField(fields["suites"], suite) {
			continue
		}
		for _, u := range strings.Fields(fields["uris"]) {
			if isHTTP(u) {
				return u
			}
		}
	}
	return ""
}

func containsField(list, want string) bool {
	for _, x := range strings.Fields(list) {
		if x == want {
			return true
		}
	}
	return false
}

func isHTTP(u string) bool {
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")
}

// tailBuffer keeps the last lines written to it, for error messages.
type tailBuffer struct{ lines []string }

func (t *tailBuffer) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		t.lines = append(t.lines, l)
	}
	if n := len(t.lines); n > 20 {
		t.lines = t.lines[n-20:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.Join(t.lines, "\n") }
