// Command bench measures plat push on fleets of real sshd hosts against
// parallel rsync, runs the release package's Go benchmarks, and writes
// bench/RESULTS.md. `make bench` runs it from the repository root:
//
//	go run ./bench/cmd/bench -out bench/RESULTS.md
//
// It needs root (sshd hosts on 127.0.0.X), /usr/sbin/sshd, rsync and git.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/plat-sh/plat/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	sizes := flag.String("n", "10,50", "comma-separated fleet `SIZES`")
	runs := flag.Int("runs", 5, "measured runs per scenario")
	out := flag.String("out", "bench/RESULTS.md", "Markdown report `FILE` (\"-\": stdout)")
	notes := flag.String("notes", "bench/ANALYSIS.md", "Markdown `FILE` appended to the report (skipped when missing)")
	files := flag.Int("files", bench.DefaultApp().Files, "files in the generated app")
	size := flag.Int64("bytes", bench.DefaultApp().Bytes, "bytes in the generated app")
	settle := flag.Duration("settle", 3*time.Second, "pause after removing large trees")
	goBench := flag.Bool("gobench", true, "run the platform/release Go benchmarks too")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()

	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-n: %q is not a fleet size", s)
		}
		ns = append(ns, n)
	}
	work, err := os.MkdirTemp("", "plat-bench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "work directory:", work)
	} else {
		defer os.RemoveAll(work)
	}
	plat := filepath.Join(work, "plat")
	fmt.Fprintln(os.Stderr, "building plat")
	if b, err := exec.CommandContext(ctx, "go", "build", "-o", plat, "./cmd/plat").CombinedOutput(); err != nil {
		return fmt.Errorf("build plat (run from the repository root): %v\n%s", err, b)
	}
	spec := bench.AppSpec{Seed: bench.DefaultApp().Seed, Files: *files, Bytes: *size}
	rep, err := bench.Run(ctx, bench.Config{Plat: plat, Sizes: ns, Runs: *runs, App: spec,
		Dir: filepath.Join(work, "run"), Settle: *settle, Log: os.Stderr})
	if err != nil {
		return err
	}
	if c, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		rep.Commit = strings.TrimSpace(string(c))
		if st, _ := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no", "--", "platform", "cmd", "providers").Output(); len(bytes.TrimSpace(st)) > 0 {
			rep.Commit += " (with uncommitted changes)"
		}
	}
	if *goBench {
		fmt.Fprintln(os.Stderr, "running the platform/release Go benchmarks")
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "./platform/release/")
		cmd.Env = append(os.Environ(), "PLAT_BENCH_FILES="+strconv.Itoa(*files), "PLAT_BENCH_BYTES="+strconv.FormatInt(*size, 10))
		b, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("go benchmarks: %v\n%s", err, b)
		}
		rep.GoBench = string(b)
	}
	var md bytes.Buffer
	rep.WriteMarkdown(&md)
	if n, err := os.ReadFile(*notes); err == nil {
		md.WriteString("\n")
		md.Write(n)
	}
	if *out == "-" {
		_, err = os.Stdout.Write(md.Bytes())
		return err
	}
	if err := os.WriteFile(*out, md.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", *out)
	return nil
}
