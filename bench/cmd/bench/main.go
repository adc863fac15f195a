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

// inNetNS is set in the environment of the driver re-executed in its own
// network namespace.
const inNetNS = "PLAT_BENCH_NETNS"

// reexecInNetNS runs this program again (same flags, -plat set) in a new
// network namespace.
func reexecInNetNS(ctx context.Context, plat string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := append([]string{"-plat", plat}, os.Args[1:]...)
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), inNetNS+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	// On interrupt, let the child stop its fleet and remove its files.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("benchmark in its own network namespace (-netns=false runs without one): %w", err)
	}
	return nil
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
	profile := flag.String("profile", "", "write a CPU profile of every plat run into `DIR`")
	netns := flag.Bool("netns", true, "run the fleet, plat and rsync in their own network namespace, so the loopback counters see only their traffic")
	platBin := flag.String("plat", "", "plat binary to measure (default: build ./cmd/plat)")
	commit := flag.String("commit", "", "plat commit to name in the report (default: git rev-parse HEAD, noting uncommitted changes)")
	scale := flag.Bool("scale", true, "push the large trees too (100,000 files; one 1 GiB file) and report plat's peak RSS")
	scaleOnly := flag.Bool("scale-only", false, "run only the large-tree pushes and replace the scale section of -out")
	scaleN := flag.Int("scale-n", 2, "hosts for the large-tree pushes")
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
	plat := *platBin
	if plat == "" {
		plat = filepath.Join(work, "plat")
		fmt.Fprintln(os.Stderr, "building plat")
		if b, err := exec.CommandContext(ctx, "go", "build", "-o", plat, "./cmd/plat").CombinedOutput(); err != nil {
			return fmt.Errorf("build plat (run from the repository root): %v\n%s", err, b)
		}
	}
	if *netns && os.Getenv(inNetNS) == "" {
		// Everything else runs again in a new network namespace: its
		// loopback carries only the benchmark's traffic.
		return reexecInNetNS(ctx, plat)
	}
	netnsNote := "the machine's loopback (other traffic on it is counted too)"
	if os.Getenv(inNetNS) != "" {
		if b, err := exec.CommandContext(ctx, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			return fmt.Errorf("bring up lo in the benchmark's network namespace: %v: %s", err, b)
		}
		netnsNote = "a network namespace of its own: only the benchmark's traffic"
	}
	spec := bench.AppSpec{Seed: bench.DefaultApp().Seed, Files: *files, Bytes: *size}
	cfg := bench.Config{LoNote: netnsNote, Plat: plat, Sizes: ns, Runs: *runs, App: spec,
		Dir: filepath.Join(work, "run"), Settle: *settle, Log: os.Stderr, ProfileDir: *profile}
	if *scaleOnly {
		cfg.Dir = filepath.Join(work, "scale")
		start := time.Now()
		m := bench.Machine()
		rows, err := bench.RunScale(ctx, cfg, *scaleN, bench.ScaleTrees())
		if err != nil {
			return err
		}
		note := fmt.Sprintf("Run on its own (`-scale-only`) at %s, load average at start %s", start.UTC().Format(time.RFC3339), m.Load)
		if c, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
			note += ", plat commit " + strings.TrimSpace(string(c))
		}
		section := bench.ScaleMarkdown(rows, note+".")
		if *out == "-" {
			_, err = os.Stdout.WriteString(section)
			return err
		}
		old, _ := os.ReadFile(*out)
		if err := os.WriteFile(*out, []byte(bench.ReplaceScale(string(old), section)), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote the scale section of", *out)
		return nil
	}
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *scale {
		cfg.Dir = filepath.Join(work, "scale")
		if rep.Scale, err = bench.RunScale(ctx, cfg, *scaleN, bench.ScaleTrees()); err != nil {
			return err
		}
	}
	if *commit != "" {
		rep.Commit = *commit
	} else if c, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
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
