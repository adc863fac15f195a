package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// ScaleRSSLimit is the bound on plat's peak resident set in a scale push.
const ScaleRSSLimit = 150 << 20

// ScaleResult is one cold push of a large tree, against rsync in the same
// run.
type ScaleResult struct {
	Name  string
	Files int
	Bytes int64
	N     int
	Plat  Sample
	Rsync Sample
}

// Ratio is plat's wall time over rsync's.
func (s *ScaleResult) Ratio() float64 {
	if s.Rsync.Wall <= 0 {
		return 0
	}
	return s.Plat.Wall.Seconds() / s.Rsync.Wall.Seconds()
}

// ScaleTree is a large tree the scale run pushes.
type ScaleTree struct {
	Name string
	// Write fills dir (no git) and returns files and bytes.
	Write func(dir string) (files int, bytes int64, err error)
}

// ScaleTrees are the two: 100,000 small files, and one 1 GiB
// file (incompressible, so neither gzip nor rsync's compression helps).
func ScaleTrees() []ScaleTree {
	return []ScaleTree{
		{Name: "100,000 files", Write: func(dir string) (int, int64, error) {
			info, err := WriteTree(dir, AppSpec{Seed: 3, Files: 100000, Bytes: 100 << 20})
			if err != nil {
				return 0, 0, err
			}
			return info.Files, info.Bytes, nil
		}},
		{Name: "1 GB file", Write: func(dir string) (int, int64, error) { return writeBigFile(dir, 1<<30) }},
	}
}

// writeBigFile writes a Procfile and one incompressible file of size
// bytes, streamed (the generator holds 1 MiB at a time).
func writeBigFile(dir string, size int64) (int, int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	procfile := "# No processes: the benchmark measures transfer and switch.\n"
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte(procfile), 0o644); err != nil {
		return 0, 0, err
	}
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		return 0, 0, err
	}
	n, err := io.Copy(f, io.LimitReader(rand.NewChaCha8(seed32(4, 0)), size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return 2, n + int64(len(procfile)), err
}

// RunScale pushes each tree once to a fresh fleet of n hosts (cold) and
// rsyncs it to the same hosts, measuring both.
func RunScale(ctx context.Context, cfg Config, n int, trees []ScaleTree) ([]*ScaleResult, error) {
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	var out []*ScaleResult
	for i, tree := range trees {
		dir := filepath.Join(cfg.Dir, fmt.Sprintf("scale%d", i))
		appDir := filepath.Join(dir, "app")
		logf("scale: writing %s into %s", tree.Name, appDir)
		files, bytes, err := tree.Write(appDir)
		if err != nil {
			return out, fmt.Errorf("scale %s: %w", tree.Name, err)
		}
		if err := commitTree(ctx, appDir); err != nil {
			return out, fmt.Errorf("scale %s: %w", tree.Name, err)
		}
		res, err := scaleOne(ctx, cfg, n, dir, &AppInfo{Dir: appDir, Files: files, Bytes: bytes}, logf)
		os.RemoveAll(dir)
		if err != nil {
			return out, fmt.Errorf("scale %s: %w", tree.Name, err)
		}
		res.Name = tree.Name
		out = append(out, res)
		logf("  scale %-14s N=%d  plat %7.1fs rss %4.0f MB  rsync %7.1fs  ratio %.2f", tree.Name, n, res.Plat.Wall.Seconds(), mb(res.Plat.MaxRSS), res.Rsync.Wall.Seconds(), res.Ratio())
	}
	return out, nil
}

func commitTree(ctx context.Context, dir string) error {
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("/plat.hcl\n/.plat/\n"), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "scale"}} {
		if _, err := gitRun(ctx, dir, args...); err != nil {
			return err
		}
	}
	return nil
}

func scaleOne(ctx context.Context, cfg Config, n int, dir string, app *AppInfo, logf func(string, ...any)) (*ScaleResult, error) {
	r := &runner{cfg: cfg, app: app, n: n, logf: logf, round: new(int)}
	f, err := sshtest.Start(ctx, sshtest.Options{N: n, Dir: filepath.Join(dir, "fleet")})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r.fleet = f
	if err := r.writeHCL(); err != nil {
		return nil, err
	}
	r.scenario = "scale"
	res := &ScaleResult{Files: app.Files, Bytes: app.Bytes, N: n}
	if res.Plat, err = Measure(ctx, r.plat(ctx, "--var", "run=scale", "push", "fleet")); err != nil {
		return nil, err
	}
	if err := r.checkCurrent("scale"); err != nil {
		return nil, err
	}
	res.Plat.Output = lastLines(res.Plat.Output, 8)
	r.settle()
	if res.Rsync, err = Measure(ctx, r.rsyncAll(ctx, "scale")...); err != nil {
		return nil, err
	}
	res.Rsync.Output = ""
	return res, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeScaleMarkdown renders the scale section; note (when set) says
// when and on what it ran.
func writeScaleMarkdown(w io.Writer, rows []*ScaleResult, note string) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "%s\n## Scale: one cold push of a large tree\n\n", ScaleBegin)
	fmt.Fprintf(w, "Each tree is committed, pushed once to %d fresh sshd hosts (`plat push fleet`), then rsynced to the same hosts in the same run. ", rows[0].N)
	fmt.Fprintf(w, "RSS = the plat process's peak resident set from its rusage (Maxrss, which includes the children it waited for: git). Bound: %d MB.", ScaleRSSLimit>>20)
	if note != "" {
		fmt.Fprintf(w, " %s", note)
	}
	fmt.Fprintf(w, "\n\n")
	fmt.Fprintf(w, "| tree | files | MB | hosts | plat s | plat peak RSS MB | within %d MB | rsync ∥ s | ratio | plat CPU s |\n|---|---|---|---|---|---|---|---|---|---|\n", ScaleRSSLimit>>20)
	for _, s := range rows {
		fmt.Fprintf(w, "| %s | %d | %.0f | %d | %.1f | %.0f | %s | %.1f | %.2f × | %.1f |\n", s.Name, s.Files, mb(s.Bytes), s.N,
			s.Plat.Wall.Seconds(), mb(s.Plat.MaxRSS), map[bool]string{true: "yes", false: "**no**"}[s.Plat.MaxRSS <= ScaleRSSLimit],
			s.Rsync.Wall.Seconds(), s.Ratio(), s.Plat.CPU.Seconds())
	}
	fmt.Fprintf(w, "\n%s\n", ScaleEnd)
}

// ScaleBegin and ScaleEnd delimit the scale section in RESULTS.md, so a
// scale-only run replaces just that section.
const (
	ScaleBegin = "<!-- scale -->"
	ScaleEnd   = "<!-- /scale -->"
)

// ScaleMarkdown renders the scale section alone.
func ScaleMarkdown(rows []*ScaleResult, note string) string {
	var b strings.Builder
	writeScaleMarkdown(&b, rows, note)
	return b.String()
}

// ReplaceScale puts section into report in place of its scale section,
// or before the analysis (a line "## Analysis"), or at the end.
func ReplaceScale(report, section string) string {
	if i := strings.Index(report, ScaleBegin); i >= 0 {
		if j := strings.Index(report[i:], ScaleEnd); j >= 0 {
			return report[:i] + strings.TrimSuffix(section, "\n") + report[i+j+len(ScaleEnd):]
		}
	}
	if i := strings.Index(report, "\n## Analysis"); i >= 0 {
		return report[:i+1] + section + "\n" + report[i+1:]
	}
	return report + "\n" + section
}
