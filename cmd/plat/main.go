// Command plat deploys one app, with one recipe, to every environment.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
)

// memoryLimit is plat's soft heap limit unless GOMEMLIMIT says otherwise:
// the garbage collector runs more often near it instead of letting the
// heap double, so a push of 100,000 files (about 60 MB live) stays under
// the benchmark's 150 MB peak RSS. It is soft: a bigger release still
// pushes, with more GC work.
const memoryLimit = 96 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// PLAT_CPUPROFILE=FILE writes a CPU profile of this run (go tool pprof
	// FILE); the benchmark in bench/ uses it to find where a push spends
	// its time.
	stopProfile := startCPUProfile(os.Getenv("PLAT_CPUPROFILE"))
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

func startCPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plat: PLAT_CPUPROFILE:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "plat: PLAT_CPUPROFILE:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
