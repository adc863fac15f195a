package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Sample is one measured run of one or more commands.
type Sample struct {
	Wall time.Duration
	// LoBytes is what crossed the loopback interface (received bytes of
	// lo; every loopback byte is sent and received once).
	LoBytes int64
	// CPU is user+system time of the commands and the children they
	// waited for (summed over parallel commands).
	CPU time.Duration
	// MaxRSS is the largest peak resident set of the commands (or of a
	// child they waited for), in bytes.
	MaxRSS int64
	// MachineCPU is the CPU time every process on the machine used during
	// the run (from /proc/stat): the commands plus the hosts' sshd, sh,
	// tar and cp.
	MachineCPU time.Duration
	// Output is the commands' stdout and stderr.
	Output string
}

// Measure runs cmds in parallel and measures them together. Any command
// that fails makes Measure fail (with its output).
func Measure(ctx context.Context, cmds ...*exec.Cmd) (Sample, error) {
	var s Sample
	lo0, err := loBytes()
	if err != nil {
		return s, err
	}
	cpu0, err := machineCPU()
	if err != nil {
		return s, err
	}
	outs := make([]bytes.Buffer, len(cmds))
	start := time.Now()
	for i, c := range cmds {
		c.Stdout, c.Stderr = &outs[i], &outs[i]
		if err := c.Start(); err != nil {
			for _, started := range cmds[:i] {
				_ = started.Process.Kill()
				_ = started.Wait()
			}
			return s, fmt.Errorf("start %s: %w", c.Path, err)
		}
	}
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Wait()
		}()
	}
	wg.Wait()
	s.Wall = time.Since(start)
	lo1, err := loBytes()
	if err != nil {
		return s, err
	}
	cpu1, err := machineCPU()
	if err != nil {
		return s, err
	}
	s.LoBytes = lo1 - lo0
	s.MachineCPU = cpu1 - cpu0
	var all strings.Builder
	for i, c := range cmds {
		all.Write(outs[i].Bytes())
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.CPU += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			s.MaxRSS = max(s.MaxRSS, ru.Maxrss*1024) // Linux reports KiB
		}
	}
	s.Output = all.String()
	for i, err := range errs {
		if err != nil {
			out := outs[i].String()
			if len(out) > 4000 {
				out = out[len(out)-4000:]
			}
			return s, fmt.Errorf("%s: %w\n%s", strings.Join(cmds[i].Args, " "), err, out)
		}
	}
	if ctx.Err() != nil {
		return s, ctx.Err()
	}
	return s, nil
}

// loBytes reads the received bytes of the loopback interface.
func loBytes() (int64, error) {
	f, err := os.Open("/proc/net/dev")
	if err != nil {
		return 0, fmt.Errorf("read loopback counters: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || name != "lo" {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) < 9 {
			break
		}
		return strconv.ParseInt(fields[0], 10, 64)
	}
	return 0, fmt.Errorf("read loopback counters: no lo in /proc/net/dev")
}

// clockTicks is USER_HZ, which is 100 on every Linux architecture Go
// supports.
const clockTicks = 100

// machineCPU reads the CPU time all processes used since boot (user,
// nice, system, irq, softirq; not idle or iowait).
func machineCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read cpu counters: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("read cpu counters: unexpected /proc/stat")
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read cpu counters: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// MachineInfo describes the machine for the report.
type MachineInfo struct {
	CPUs     int
	CPUModel string
	MemTotal int64
	Kernel   string
	Load     string // load averages at the start
}

// Machine reads what the report says about the machine.
func Machine() MachineInfo {
	var m MachineInfo
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "processor") {
				m.CPUs++
			}
			if v, ok := strings.CutPrefix(l, "model name"); ok && m.CPUModel == "" {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
				m.MemTotal = kb * 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	return m
}

// InodeCost measures the system CPU time of creating one empty file in
// dir (created and removed): a cold push creates one per file per host,
// so on file systems where this is slow it sets the floor.
func InodeCost(dir string) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	const n = 2000
	var before, after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		f, err := os.OpenFile(fmt.Sprintf("%s/f%d", dir, i), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
		if err != nil {
			return 0, err
		}
		f.Close()
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		return 0, err
	}
	used := time.Duration(after.Stime.Nano()-before.Stime.Nano()) + time.Duration(after.Utime.Nano()-before.Utime.Nano())
	return used / n, nil
}
