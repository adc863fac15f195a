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
	"time"

	"github.com/plat-sh/plat/platform"
)

// runTimeout bounds one command of the transport checks.
const runTimeout = 60 * time.Second

// TransportSource gives the transport checks fresh transports.
type TransportSource struct {
	// New returns a connected transport; the check closes it (twice:
	// Close must be idempotent).
	New func(ctx context.Context) (platform.Transport, error)
	// Scratch returns an absolute directory on the target, empty and
	// writable by the transport's user, and a cleanup. Nil: the checks
	// make one with `mktemp -d` through the transport and remove it after.
	Scratch func(ctx context.Context, tr platform.Transport) (dir string, cleanup func(), err error)
}

// TransportChecks is the Transport conformance suite as named checks.
// Targets need a POSIX shell, coreutils and tar, as plat's on-host recipe
// does. Building the list does not call s; each check calls s.New once.
func TransportChecks(s TransportSource) []Check {
	return []Check{
		{"argv is not reinterpreted by a shell", s.with(func(ctx context.Context, tr platform.Transport) error {
			arg := `it's "quoted" $HOME; echo pwned`
			out, _, err := run(ctx, tr, &platform.Command{Args: []string{"printf", "%s", arg}})
			if err != nil {
				return err
			}
			if out != arg {
				return fmt.Errorf("stdout = %q, want %q", out, arg)
			}
			return nil
		})},
		{"stdout and stderr are separate", s.with(func(ctx context.Context, tr platform.Transport) error {
			out, errs, err := run(ctx, tr, &platform.Command{Args: []string{"sh", "-c", "echo out; echo err >&2"}})
			if err != nil {
				return err
			}
			if out != "out\n" || errs != "err\n" {
				return fmt.Errorf("stdout=%q stderr=%q, want %q and %q", out, errs, "out\n", "err\n")
			}
			return nil
		})},
		{"exit code is an ExitError", s.with(func(ctx context.Context, tr platform.Transport) error {
			_, _, err := run(ctx, tr, &platform.Command{Args: []string{"sh", "-c", "exit 7"}})
			if platform.ExitCode(err) != 7 {
				return fmt.Errorf("err = %v, want an *platform.ExitError with code 7", err)
			}
			return nil
		})},
		{"missing program fails", s.with(func(ctx context.Context, tr platform.Transport) error {
			_, _, err := run(ctx, tr, &platform.Command{Args: []string{"plat-no-such-program-xyz"}})
			if err == nil {
				return errors.New("running a missing program succeeded")
			}
			return nil
		})},
		{"dir and env", s.withScratch(func(ctx context.Context, tr platform.Transport, dir string) error {
			out, _, err := run(ctx, tr, &platform.Command{
				Args: []string{"sh", "-c", `pwd; printf '%s\n' "$PLAT_TEST_VAR"`},
				Dir:  dir,
				Env:  map[string]string{"PLAT_TEST_VAR": "a b'c"},
			})
			if err != nil {
				return err
			}
			if want := dir + "\na b'c\n"; out != want {
				return fmt.Errorf("stdout = %q, want %q", out, want)
			}
			return nil
		})},
		{"large stdin streams intact", s.withScratch(func(ctx context.Context, tr platform.Transport, dir string) error {
			data := bytes.Repeat([]byte("plat-transport-0123456789\n"), 400000) // ~10 MB
			sum := fmt.Sprintf("%x", sha256.Sum256(data))
			out, _, err := run(ctx, tr, &platform.Command{
				Args:  []string{"sh", "-c", `cat > f && sha256sum f`},
				Dir:   dir,
				Stdin: bytes.NewReader(data),
			})
			if err != nil {
				return err
			}
			if !strings.HasPrefix(out, sum) {
				return fmt.Errorf("sha256 on target = %q, want %s", out, sum)
			}
			return nil
		})},
		{"stdin EOF is delivered", s.with(func(ctx context.Context, tr platform.Transport) error {
			out, _, err := run(ctx, tr, &platform.Command{Args: []string{"wc", "-c"}, Stdin: strings.NewReader("12345")})
			if err != nil {
				return err
			}
			if strings.TrimSpace(out) != "5" {
				return fmt.Errorf("wc -c = %q, want 5", out)
			}
			return nil
		})},
		{"concurrent commands", s.with(func(ctx context.Context, tr platform.Transport) error {
			ctx, cancel := context.WithTimeout(ctx, runTimeout)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					var out bytes.Buffer
					err := tr.Run(ctx, &platform.Command{Args: []string{"echo", fmt.Sprint(i)}, Stdout: &out})
					if err == nil && out.String() != fmt.Sprintf("%d\n", i) {
						err = fmt.Errorf("command %d printed %q", i, out.String())
					}
					errs <- err
				}(i)
			}
			wg.Wait()
			close(errs)
			var all []error
			for err := range errs {
				all = append(all, err)
			}
			return errors.Join(all...)
		})},
		{"cancel stops the command", s.with(func(ctx context.Context, tr platform.Transport) error {
			cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := tr.Run(cctx, &platform.Command{Args: []string{"sleep", "30"}, Stdout: io.Discard, Stderr: io.Discard})
			if err == nil {
				return errors.New("cancelled command succeeded")
			}
			var problems []error
			if !errors.Is(err, context.DeadlineExceeded) {
				problems = append(problems, fmt.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err))
			}
			if d := time.Since(start); d > 15*time.Second {
				problems = append(problems, fmt.Errorf("cancel took %s", d))
			}
			// The transport still works after a cancelled command.
			out, _, err := run(ctx, tr, &platform.Command{Args: []string{"echo", "alive"}})
			if err != nil || out != "alive\n" {
				problems = append(problems, fmt.Errorf("after cancel: stdout %q, err %v", out, err))
			}
			return errors.Join(problems...)
		})},
	}
}

// with wraps a check body: a fresh transport, closed twice afterwards.
func (s TransportSource) with(f func(ctx context.Context, tr platform.Transport) error) func(context.Context) error {
	return func(ctx context.Context) (err error) {
		if s.New == nil {
			return errors.New("transport source has no New")
		}
		tr, err := s.New(ctx)
		if err != nil {
			return fmt.Errorf("new transport: %w", err)
		}
		defer func() {
			if cerr := tr.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close: %w", cerr))
			} else if cerr := tr.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("second close is not idempotent: %w", cerr))
			}
		}()
		return f(ctx, tr)
	}
}

// withScratch is with plus a scratch directory.
func (s TransportSource) withScratch(f func(ctx context.Context, tr platform.Transport, dir string) error) func(context.Context) error {
	return s.with(func(ctx context.Context, tr platform.Transport) error {
		scratch := s.Scratch
		if scratch == nil {
			scratch = MktempScratch
		}
		dir, cleanup, err := scratch(ctx, tr)
		if err != nil {
			return fmt.Errorf("scratch dir: %w", err)
		}
		defer cleanup()
		return f(ctx, tr, dir)
	})
}

// MktempScratch makes a scratch directory with `mktemp -d` through tr;
// the cleanup removes it through tr.
func MktempScratch(ctx context.Context, tr platform.Transport) (string, func(), error) {
	out, errs, err := run(ctx, tr, &platform.Command{Args: []string{"mktemp", "-d"}})
	if err != nil {
		return "", nil, fmt.Errorf("mktemp -d: %w (stderr %q)", err, errs)
	}
	dir := strings.TrimSpace(out)
	if !strings.HasPrefix(dir, "/") || strings.Contains(dir, "\n") {
		return "", nil, fmt.Errorf("mktemp -d printed %q, want an absolute path", out)
	}
	cleanup := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runTimeout)
		defer cancel()
		_ = tr.Run(cctx, &platform.Command{Args: []string{"rm", "-rf", "--", dir}, Stdout: io.Discard, Stderr: io.Discard})
	}
	return dir, cleanup, nil
}

// run runs cmd with a timeout, capturing stdout and stderr unless cmd
// already sets them.
func run(ctx context.Context, tr platform.Transport, cmd *platform.Command) (string, string, error) {
	var out, errb bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &errb
	}
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	err := tr.Run(ctx, cmd)
	return out.String(), errb.String(), err
}
