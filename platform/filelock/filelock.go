// Package filelock is plat's one way to serialise work on a machine: an
// exclusive flock(2) on a file. The lock belongs to the open file, so two
// goroutines of one process exclude each other as two processes do, and
// the kernel drops it when the holder dies.
package filelock

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Lock takes an exclusive lock on path (created 0600, its directory too),
// waiting while another holder has it; ctx cancels the wait. The returned
// function releases the lock.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		// Closing the file does not interrupt flock(2): the waiting
		// goroutine closes it once the other holder lets go.
		go func() { <-done; f.Close() }()
		return nil, ctx.Err()
	}
}
