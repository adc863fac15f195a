// Package bench measures plat push on a fleet of real sshd hosts on
// loopback, against rsync over ssh to the same hosts as the transfer floor.
//
// It has three parts: a deterministic generator of a realistic app tree as
// a git repository (GenerateApp), a measurement of child processes (wall
// time, CPU, peak RSS, loopback bytes and the machine's CPU; Measure), and
// the driver that runs the scenarios (cold, incremental, no-op, forced
// no-op, rollback, build+package) for each fleet size and renders the
// results as Markdown (Run, Report.WriteMarkdown). `make bench` runs the
// driver in bench/cmd/bench; TestBenchSmoke runs a tiny version in CI.
package bench
