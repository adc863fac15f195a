package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// The live view end to end: a real plat push to a real sshd fleet, in a
// real tmux, its uploads slowed down by a throttling ProxyCommand (this
// test binary itself) so that progress is on the screen long enough to be
// captured. The panes are compared with goldens in testdata/liveview,
// numbers normalised (go test ./cmd/plat -run TestLiveView -update).

// throttleEnv makes this test binary a ProxyCommand: "HOST PORT", stdin
// to the server at most that many bytes a second, the server's answers
// at full speed.
const throttleEnv = "PLAT_LIVEVIEW_THROTTLE"

func init() {
	if os.Getenv(throttleEnv) == "" {
		return
	}
	var rate int
	fmt.Sscan(os.Getenv(throttleEnv), &rate)
	if err := throttleProxy(os.Args[1], os.Args[2], rate); err != nil {
		fmt.Fprintln(os.Stderr, "throttle proxy:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func throttleProxy(host, port string, rate int) error {
	c, err := net.Dial("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return err
	}
	defer c.Close()
	go func() {
		io.Copy(os.Stdout, c)
		os.Exit(0)
	}()
	// 20 slices a second, each at most rate/20 bytes.
	buf := make([]byte, max(rate/20, 1))
	for {
		t := time.Now()
		n, err := os.Stdin.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			c.(*net.TCPConn).CloseWrite()
			select {} // until the server closes its side
		}
		time.Sleep(time.Until(t.Add(50 * time.Millisecond)))
	}
}

// tmux is a tmux server of its own running one window.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, cols, rows int, command string) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed; CI installs it (.ci/run)")
		}
		t.Skip("tmux is not installed (apt-get install tmux)")
	}
	tm := &tmux{t: t, socket: fmt.Sprintf("plat-liveview-%d-%d", os.Getpid(), time.Now().UnixNano())}
	tm.run("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows), command)
	t.Cleanup(func() { exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	tm.run("set-option", "-g", "window-size", "manual")
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// rows is the pane, history included, one string per row as the
// terminal shows it.
func (tm *tmux) rows() []string {
	return trimRows(tm.run("capture-pane", "-p", "-t", "t", "-S", "-", "-E", "-"))
}

// lines is the pane with wrapped rows joined into the lines written.
func (tm *tmux) lines() []string {
	return trimRows(tm.run("capture-pane", "-p", "-J", "-t", "t", "-S", "-", "-E", "-"))
}

func trimRows(s string) []string {
	rows := strings.Split(s, "\n")
	for i := range rows {
		rows[i] = strings.TrimRight(rows[i], " ")
	}
	for len(rows) > 0 && rows[len(rows)-1] == "" {
		rows = rows[:len(rows)-1]
	}
	return rows
}

// waitFor polls the pane until ok holds of its rows.
func (tm *tmux) waitFor(what string, ok func(rows []string) bool) []string {
	tm.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		rows := tm.rows()
		if ok(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("pane never showed %s:\n%s", what, strings.Join(rows, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var (
	blockRow = regexp.MustCompile(`^  (host\d|localhost)\s|^  \S+ elapsed$`)
	exitRow  = regexp.MustCompile(`^\[exit (\d+)\]$`)
)

// uploading reports whether the block shows every host's upload with its
// rate known (an ETA).
func uploading(hosts int) func([]string) bool {
	return func(rows []string) bool {
		n := 0
		for _, r := range rows {
			if blockRow.MatchString(r) && strings.Contains(r, "upload r1") && strings.Contains(r, "eta ") {
				n++
			}
		}
		return n == hosts
	}
}

func exited(rows []string) bool {
	for _, r := range rows {
		if exitRow.MatchString(r) {
			return true
		}
	}
	return false
}

// checkBlock asserts the live block is the pane's last rows (before the
// cursor), one per running host and the elapsed time, each narrower than
// cols: no row of an older drawing is left above it, none wraps.
func checkBlock(t *testing.T, rows []string, cols int) {
	t.Helper()
	first := -1
	for i, r := range rows {
		if blockRow.MatchString(r) || strings.Contains(r, "eta ") || strings.HasSuffix(r, "elapsed") {
			if first < 0 {
				first = i
			}
		}
	}
	if first < 0 {
		t.Fatalf("no live block in the pane:\n%s", strings.Join(rows, "\n"))
	}
	block := rows[first:]
	if len(block) == 0 || !strings.HasSuffix(block[len(block)-1], " elapsed") {
		t.Fatalf("the pane's block does not end with the elapsed time:\n%s", strings.Join(rows, "\n"))
	}
	for _, r := range block {
		if !blockRow.MatchString(r) {
			t.Fatalf("row %q in the live block is not a block line (stale or wrapped):\n%s", r, strings.Join(rows, "\n"))
		}
		if len([]rune(r)) >= cols {
			t.Fatalf("row %q fills the %d columns:\n%s", r, cols, strings.Join(rows, "\n"))
		}
	}
}

var normalisers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b\d+\.\d{3}s\b`), "D"},                         // step durations
	{regexp.MustCompile(`\b(\d+\.\ds|\d+m\d\ds|\d+h\d\dm)\b`), "T"},      // elapsed times
	{regexp.MustCompile(`\beta \S+`), "eta E"},                           // time left
	{regexp.MustCompile(`\b\d+%`), "P%"},                                 // percent
	{regexp.MustCompile(`\d+(\.\d)?/\d+(\.\d)? (B|KiB|MiB|GiB)`), "A/A"}, // amounts
	{regexp.MustCompile(`\d+\.\d +(B|KiB|MiB|GiB)/s`), "R/s"},            // rates
	{regexp.MustCompile(`\d+(\.\d)? (B|KiB|MiB|GiB)\b`), "S"},            // sizes
	{regexp.MustCompile(`127\.0\.0\.\d+:\d+`), "127.0.0.X:PORT"},
	{regexp.MustCompile(`\b[0-9a-f]{7,40}\b`), "SHA"},
	{regexp.MustCompile(` +`), " "},
}

var hostPrefix = regexp.MustCompile(`^\[([^\]]+)\]( |$)`)

// normalise makes a capture comparable across runs: numbers and ports
// replaced, spaces collapsed, and the lines of each host (which run in
// parallel, interleaved in any order) grouped, in their order, by host
// name, the other lines (the live block, the summary) after them; the
// shell's exit line ends it.
func normalise(rows []string) string {
	byHost := map[string][]string{}
	var hosts, rest []string
	for _, r := range rows {
		if exitRow.MatchString(r) {
			rest = append(rest, r)
			break
		}
		for _, n := range normalisers {
			r = n.re.ReplaceAllString(r, n.with)
		}
		if m := hostPrefix.FindStringSubmatch(r); m != nil {
			if byHost[m[1]] == nil {
				hosts = append(hosts, m[1])
			}
			byHost[m[1]] = append(byHost[m[1]], r)
			continue
		}
		rest = append(rest, r)
	}
	sort.Strings(hosts)
	var b strings.Builder
	for _, h := range hosts {
		b.WriteString(strings.Join(byHost[h], "\n") + "\n")
	}
	b.WriteString(strings.Join(rest, "\n") + "\n")
	return b.String()
}

// liveProject is the notes app with a file of size bytes that do not
// compress, on a fleet of two hosts reached through the throttling proxy
// at 1 MiB/s each, and the shell command that pushes it in a terminal.
func liveProject(t *testing.T, size int) (*project, string) {
	fleet := sshtest.New(t, 2)
	p := newProject(t)
	writeBlob(t, p, size)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(fleet.SSHConfig, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\nHost *\n  ProxyCommand env %s=%d %s %%h %%p\n", throttleEnv, 1<<20, self)
	f.Close()
	p.sshEnv(fleet, "")
	t.Cleanup(func() { p.plat("down", "fleet") })
	// The live view is for people: no CI, no JSON; the exit status and a
	// pause keep the pane for the capture.
	cmd := fmt.Sprintf("env -u CI -u PLAT_JSON -u NO_COLOR TERM=xterm-256color %s -C %s --var base_port=%d push fleet; echo \"[exit $?]\"; sleep 3600",
		shq(platBin), shq(p.dir), p.port)
	return p, cmd
}

// writeBlob commits blob.bin, size random bytes.
func writeBlob(t *testing.T, p *project, size int) {
	t.Helper()
	blob := make([]byte, size)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "blob.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("add", "blob.bin")
	p.git("commit", "-q", "-m", "blob")
}

// shq quotes s for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func TestLiveViewAt60Columns(t *testing.T) {
	_, cmd := liveProject(t, 4<<20)
	tm := newTmux(t, 60, 50, cmd)
	rows := tm.waitFor("both uploads with an ETA", uploading(2))
	checkBlock(t, rows, 60)
	golden(t, "liveview/push-60-uploading.txt", normalise(tm.lines()))
	tm.waitFor("the end of the push", exited)
	end := tm.lines()
	if !strings.Contains(strings.Join(end, "\n"), "[exit 0]") {
		t.Fatalf("push failed:\n%s", strings.Join(end, "\n"))
	}
	golden(t, "liveview/push-end.txt", normalise(end))
}

func TestLiveViewAt200ColumnsResized(t *testing.T) {
	_, cmd := liveProject(t, 4<<20)
	tm := newTmux(t, 200, 50, cmd)
	rows := tm.waitFor("both uploads with an ETA", uploading(2))
	checkBlock(t, rows, 200)
	golden(t, "liveview/push-200-uploading.txt", normalise(tm.lines()))
	// Narrower: tmux rewraps the wide block; the next redraw must leave
	// no piece of it.
	tm.run("resize-window", "-t", "t", "-x", "60")
	rows = tm.waitFor("the block redrawn at 60 columns", func(rows []string) bool {
		for _, r := range rows {
			if blockRow.MatchString(r) && len(r) >= 60 {
				return false
			}
		}
		return uploading(2)(rows) || exited(rows)
	})
	if exited(rows) {
		t.Fatal("the push ended before the redraw at 60 columns was seen")
	}
	checkBlock(t, rows, 60)
	tm.run("resize-window", "-t", "t", "-x", "200")
	tm.waitFor("the end of the push", exited)
	end := tm.lines()
	if !strings.Contains(strings.Join(end, "\n"), "[exit 0]") {
		t.Fatalf("push failed:\n%s", strings.Join(end, "\n"))
	}
	for _, r := range tm.rows() {
		if blockRow.MatchString(r) || strings.Contains(r, "eta ") || strings.HasSuffix(r, "elapsed") {
			t.Errorf("stale live-view row %q after the push:\n%s", r, strings.Join(tm.rows(), "\n"))
		}
	}
	// Resizing changed nothing in what stays on the screen.
	golden(t, "liveview/push-end.txt", normalise(end))
}

// Without a terminal (CI), an upload that runs past 5s prints progress
// lines, no colour or cursor movement; --json progress events carry the
// plan's total, and the content count ends at it.
func TestPlainAndJSONUploadProgress(t *testing.T) {
	p, _ := liveProject(t, 8<<20) // about 8s at 1 MiB/s
	r := p.mustPlat("push", "fleet")
	progress := regexp.MustCompile(`^\[(host[12])\] upload r1: (\d+)% (\d+\.\d)/(8\.\d) MiB \d+\.\d +[KM]iB/s eta \S+$`)
	seen := map[string]bool{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if m := progress.FindStringSubmatch(line); m != nil {
			t.Log(line)
			seen[m[1]] = true
		} else if strings.Contains(line, "upload r1:") {
			t.Errorf("progress line %q", line)
		}
	}
	if !seen["host1"] || !seen["host2"] || strings.Contains(r.stdout, "\x1b") {
		t.Fatalf("plain push output lacks progress lines for both hosts, or has escapes:\n%s", r.stdout)
	}

	writeBlob(t, p, 2<<20)
	r = p.mustPlat("--json", "push", "fleet")
	last := map[string]platform.Event{}
	for _, e := range events(t, r.stdout) {
		if e.Type == platform.EventProgress {
			if prev, ok := last[e.Host]; ok && (e.Bytes < prev.Bytes || e.WireBytes < prev.WireBytes) {
				t.Errorf("%s: progress went back: %+v after %+v", e.Host, e, prev)
			}
			last[e.Host] = e
		}
	}
	for _, h := range []string{"host1", "host2"} {
		e := last[h]
		// blob.bin and REVISION change; nothing else.
		if e.TotalBytes < 2<<20 || e.TotalBytes > 2<<20+1024 || e.Bytes != e.TotalBytes || e.WireBytes < 2<<20 || e.Files != 2 {
			t.Errorf("%s: last progress event %+v, want bytes = total_bytes = 2 MiB and a bit, wire_bytes at least that (random data), 2 files", h, e)
		}
	}
}
