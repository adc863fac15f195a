package vagrant

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrNotInstalled is returned (wrapped) when the vagrant program is not in
// PATH.
var ErrNotInstalled = errors.New("vagrant not found in PATH: install it (apt-get install vagrant)")

// Error is a vagrant command that ran and failed. Message is Vagrant's own
// explanation (its error-exit record), or the tail of its stderr when it
// wrote none.
type Error struct {
	// Command is the vagrant subcommand, e.g. "up".
	Command string
	// Dir is the VAGRANT_CWD it ran in.
	Dir string
	// Class is Vagrant's error class, e.g. "Vagrant::Errors::BatchMultiError".
	Class    string
	Message  string
	ExitCode int
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", e.ExitCode)
	}
	return fmt.Sprintf("vagrant %s failed (in %s): %s", e.Command, e.Dir, msg)
}

// cli runs vagrant in one project directory.
type cli struct {
	bin string
	// dir is VAGRANT_CWD: the directory that holds the Vagrantfile and,
	// below it, Vagrant's .vagrant state.
	dir string
	// vagrantfile is VAGRANT_VAGRANTFILE, the file's base name; "" is
	// Vagrant's default.
	vagrantfile string
	// keepDotfile keeps the caller's VAGRANT_DOTFILE_PATH (for a user's own
	// Vagrantfile, whose machines the user also drives by hand).
	keepDotfile bool
}

// interruptGrace is how long vagrant may clean up after an interrupt
// (cancelled ctx) before it is killed.
const interruptGrace = 30 * time.Second

// run executes `vagrant ARGS --machine-readable`, hands each record to
// onRecord as it arrives (may be nil) and returns them all. A non-zero
// exit is an *Error carrying Vagrant's message.
func (c *cli) run(ctx context.Context, onRecord func(Record), args ...string) ([]Record, error) {
	stdout, err := c.runRaw(ctx, func(line string) {
		if onRecord == nil {
			return
		}
		if r, ok := ParseRecord(line); ok {
			onRecord(r)
		}
	}, append(args, "--machine-readable")...)
	recs, perr := ParseRecords(bytes.NewReader(stdout))
	if perr != nil && err == nil {
		err = fmt.Errorf("read vagrant %s output: %w", args[0], perr)
	}
	var ve *Error
	if errors.As(err, &ve) {
		if class, msg := ErrorExit(recs); msg != "" {
			ve.Class, ve.Message = class, msg
		}
	}
	return recs, err
}

// runRaw executes vagrant ARGS and returns its stdout; onLine (may be nil)
// sees each stdout line as it arrives.
func (c *cli) runRaw(ctx context.Context, onLine func(string), args ...string) ([]byte, error) {
	bin, err := exec.LookPath(c.bin)
	if err != nil {
		return nil, ErrNotInstalled
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = c.environ()
	cmd.Dir = c.dir
	// Vagrant cleans up (and releases its machine locks) on SIGINT; a kill
	// leaves half-created machines and stale locks behind.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = interruptGrace
	var stderr tailWriter
	cmd.Stderr = &stderr
	pr, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("run vagrant %s: %w", args[0], err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run vagrant %s: %w", args[0], err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		out.Write(sc.Bytes())
		out.WriteByte('\n')
		if onLine != nil {
			onLine(sc.Text())
		}
	}
	// Drain whatever a too-long line left, so vagrant never blocks on a
	// full pipe.
	_, _ = io.Copy(&out, pr)
	err = cmd.Wait()
	if ctx.Err() != nil {
		return out.Bytes(), fmt.Errorf("run vagrant %s: %w", args[0], ctx.Err())
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.Bytes(), &Error{Command: args[0], Dir: c.dir, ExitCode: ee.ExitCode(), Message: stderr.String()}
		}
		return out.Bytes(), fmt.Errorf("run vagrant %s: %w", args[0], err)
	}
	return out.Bytes(), nil
}

// dotDir is Vagrant's local data directory for the project (".vagrant"
// next to the Vagrantfile, unless the user's VAGRANT_DOTFILE_PATH moves it).
func (c *cli) dotDir() string {
	if c.keepDotfile {
		if d := os.Getenv("VAGRANT_DOTFILE_PATH"); d != "" {
			if !filepath.IsAbs(d) {
				d = filepath.Join(c.dir, d)
			}
			return d
		}
	}
	return filepath.Join(c.dir, ".vagrant")
}

// machineIDs reads the provider ids Vagrant keeps for created machines
// (<dotDir>/machines/<name>/<provider>/id), keyed by machine name. It is
// how plat tells a machine `vagrant up` created from one that was already
// there, without another second-long vagrant run.
func (c *cli) machineIDs() map[string]string {
	out := map[string]string{}
	paths, _ := filepath.Glob(filepath.Join(c.dotDir(), "machines", "*", "*", "id"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		id := strings.TrimSpace(string(data))
		// "preparing" is the docker provider's placeholder while (or after
		// failing at) creating the container.
		if err != nil || id == "" || id == "preparing" {
			continue
		}
		out[filepath.Base(filepath.Dir(filepath.Dir(p)))] = id
	}
	return out
}

func (c *cli) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "VAGRANT_CWD", "VAGRANT_VAGRANTFILE":
			continue
		case "VAGRANT_DOTFILE_PATH":
			if !c.keepDotfile {
				continue
			}
		}
		env = append(env, kv)
	}
	env = append(env,
		"VAGRANT_CWD="+c.dir,
		// No calls home to check for Vagrant or box updates: plat runs
		// offline and in CI.
		"VAGRANT_CHECKPOINT_DISABLE=1",
		"VAGRANT_BOX_UPDATE_CHECK_DISABLE=1",
		"VAGRANT_NO_COLOR=1",
	)
	if c.vagrantfile != "" {
		env = append(env, "VAGRANT_VAGRANTFILE="+c.vagrantfile)
	}
	return env
}

// tailWriter keeps the last few KiB written to it.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 8 * 1024

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > tailMax {
		w.buf = w.buf[len(w.buf)-tailMax:]
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(string(w.buf))
}
