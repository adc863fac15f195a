// Package platformtest holds the conformance suites every implementation of
// a platform contract runs: built-in providers in-process, plugins through
// the gRPC boundary (plat plugins test).
package platformtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
)

// TransportHarness gives the suite a fresh transport and a scratch
// directory on the target that the transport's user can write.
type TransportHarness struct {
	// New returns a connected transport; the suite closes it.
	New func(t *testing.T) platform.Transport
	// Scratch returns an absolute directory on the target, empty and
	// writable, for this test.
	Scratch func(t *testing.T) string
}

// TestTransport runs the Transport conformance suite. Targets need a POSIX
// shell, coreutils and tar, as plat's on-host recipe does.
func TestTransport(t *testing.T, h TransportHarness) {
	t.Helper()
	run := func(t *testing.T, tr platform.Transport, cmd *platform.Command) (string, string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		if cmd.Stdout == nil {
			cmd.Stdout = &out
		}
		if cmd.Stderr == nil {
			cmd.Stderr = &errb
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		err := tr.Run(ctx, cmd)
		return out.String(), errb.String(), err
	}
	newT := func(t *testing.T) platform.Transport {
		tr := h.New(t)
		t.Cleanup(func() {
			if err := tr.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if err := tr.Close(); err != nil {
				t.Errorf("second close is not idempotent: %v", err)
			}
		})
		return tr
	}

	t.Run("argv is not reinterpreted by a shell", func(t *testing.T) {
		tr := newT(t)
		arg := `it's "quoted" $HOME; echo pwned`
		out, _, err := run(t, tr, &platform.Command{Args: []string{"printf", "%s", arg}})
		if err != nil {
			t.Fatal(err)
		}
		if out != arg {
			t.Fatalf("stdout = %q, want %q", out, arg)
		}
	})
	t.Run("stdout and stderr are separate", func(t *testing.T) {
		tr := newT(t)
		out, errs, err := run(t, tr, &platform.Command{Args: []string{"sh", "-c", "echo out; echo err >&2"}})
		if err != nil {
			t.Fatal(err)
		}
		if out != "out\n" || errs != "err\n" {
			t.Fatalf("stdout=%q stderr=%q", out, errs)
		}
	})
	t.Run("exit code is an ExitError", func(t *testing.T) {
		tr := newT(t)
		_, _, err := run(t, tr, &platform.Command{Args: []string{"sh", "-c", "exit 7"}})
		if platform.ExitCode(err) != 7 {
			t.Fatalf("err = %v, want exit 7", err)
		}
	})
	t.Run("missing program fails", func(t *testing.T) {
		tr := newT(t)
		_, _, err := run(t, tr, &platform.Command{Args: []string{"plat-no-such-program-xyz"}})
		if err == nil {
			t.Fatal("running a missing program succeeded")
		}
	})
	t.Run("dir and env", func(t *testing.T) {
		tr := newT(t)
		dir := h.Scratch(t)
		out, _, err := run(t, tr, &platform.Command{
			Args: []string{"sh", "-c", `pwd; printf '%s\n' "$PLAT_TEST_VAR"`},
			Dir:  dir,
			Env:  map[string]string{"PLAT_TEST_VAR": "a b'c"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := dir + "\na b'c\n"
		if out != want {
			t.Fatalf("stdout = %q, want %q", out, want)
		}
	})
	t.Run("large stdin streams intact", func(t *testing.T) {
		tr := newT(t)
		dir := h.Scratch(t)
		data := bytes.Repeat([]byte("plat-transport-0123456789\n"), 400000) // ~10 MB
		sum := fmt.Sprintf("%x", sha256.Sum256(data))
		out, _, err := run(t, tr, &platform.Command{
			Args:  []string{"sh", "-c", `cat > f && sha256sum f`},
			Dir:   dir,
			Stdin: bytes.NewReader(data),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out, sum) {
			t.Fatalf("sha256 on target = %q, want %s", out, sum)
		}
	})
	t.Run("stdin EOF is delivered", func(t *testing.T) {
		tr := newT(t)
		out, _, err := run(t, tr, &platform.Command{Args: []string{"wc", "-c"}, Stdin: strings.NewReader("12345")})
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(out) != "5" {
			t.Fatalf("wc -c = %q", out)
		}
	})
	t.Run("concurrent commands", func(t *testing.T) {
		tr := newT(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var out bytes.Buffer
				err := tr.Run(context.Background(), &platform.Command{Args: []string{"echo", fmt.Sprint(i)}, Stdout: &out})
				if err == nil && out.String() != fmt.Sprintf("%d\n", i) {
					err = fmt.Errorf("command %d printed %q", i, out.String())
				}
				errs <- err
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("cancel stops the command", func(t *testing.T) {
		tr := newT(t)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := tr.Run(ctx, &platform.Command{Args: []string{"sleep", "30"}, Stdout: io.Discard, Stderr: io.Discard})
		if err == nil {
			t.Fatal("cancelled command succeeded")
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
		}
		if time.Since(start) > 15*time.Second {
			t.Errorf("cancel took %s", time.Since(start))
		}
		// The transport still works after a cancelled command.
		out, _, err := run(t, tr, &platform.Command{Args: []string{"echo", "alive"}})
		if err != nil || out != "alive\n" {
			t.Fatalf("after cancel: %q %v", out, err)
		}
	})
}
