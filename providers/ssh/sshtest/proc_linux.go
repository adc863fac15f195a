package sshtest

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func sysProcAttr() *syscall.SysProcAttr {
	// If the test binary dies, its sshd listeners die with it.
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// children maps each pid to its children, read from /proc.
func children() (map[int][]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	m := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, state, ok := statOf(pid)
		if !ok || state == 'Z' {
			continue
		}
		m[ppid] = append(m[ppid], pid)
	}
	return m, nil
}

// statOf reads ppid and state from /proc/PID/stat; the command name may
// hold spaces and parentheses, so fields are counted after the last ')'.
func statOf(pid int) (ppid int, state byte, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil || len(f[0]) == 0 {
		return 0, 0, false
	}
	return ppid, f[0][0], true
}

// tree lists root and its descendants. sshd's connection handlers call
// setsid, so process groups do not cover them; parentage does.
func tree(root int) ([]int, error) {
	m, err := children()
	if err != nil {
		return nil, err
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, m[out[i]]...)
	}
	return out, nil
}

// stopTree SIGSTOPs root and its descendants until no new process shows
// up (a process may fork while we walk), and returns every process it
// stopped, including any that left the tree meanwhile (reparented when
// its parent exited): the caller must kill or resume each of them.
func stopTree(root int) ([]int, error) {
	var stopped []int
	seen := map[int]bool{}
	for round := 0; round < 50; round++ {
		pids, err := tree(root)
		if err != nil {
			return stopped, err
		}
		fresh := false
		for _, p := range pids {
			if !seen[p] {
				seen[p] = true
				fresh = true
				syscall.Kill(p, syscall.SIGSTOP)
				stopped = append(stopped, p)
			}
		}
		if !fresh {
			return stopped, nil
		}
		time.Sleep(time.Millisecond)
	}
	return stopped, errors.New("process tree keeps growing")
}

// killTree SIGKILLs root and every descendant. Freezing first keeps the
// tree intact (children of a dead sshd would be reparented and lost).
func killTree(root int) error {
	pids, err := stopTree(root)
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	return err
}

// contTree resumes the processes stopTree stopped, and whatever is in the
// tree now.
func contTree(root int, frozen []int) error {
	for _, p := range frozen {
		syscall.Kill(p, syscall.SIGCONT)
	}
	pids, err := tree(root)
	if err != nil {
		return err
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGCONT)
	}
	return nil
}

// killMarked SIGKILLs every process whose environment holds kv.
func killMarked(kv string) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, v := range strings.Split(string(data), "\x00") {
			if v == kv {
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}
