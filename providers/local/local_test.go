package local

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
)

func TestTransportConformance(t *testing.T) {
	platformtest.TestTransport(t, platformtest.TransportHarness{
		New:     func(t *testing.T) platform.Transport { return &Transport{Dir: t.TempDir()} },
		Scratch: func(t *testing.T) string { return t.TempDir() },
	})
}

// TestProviderConformance runs the provider suite on the local provider
// itself (plugins' tests run it through the plugin boundary too).
func TestProviderConformance(t *testing.T) {
	env := &platform.Environment{Name: "conf", Clusters: []*platform.Cluster{{Name: "web", Hosts: []*platform.Host{
		{Name: "web1", Cluster: "web"}, {Name: "web2", Cluster: "web"}, {Name: "web3", Cluster: "web"},
	}}}}
	platformtest.TestProvider(t, platformtest.ProviderHarness{
		Factory: Factory{}, Config: platform.ProviderConfig{Type: "local", Values: map[string]any{"base_port": 9300.0}}, Env: env,
	})
	// The ports count up from base_port, in the environment's order.
	for i, h := range env.Hosts() {
		if h.Port != 9300+i {
			t.Errorf("%s: port %d, want %d", h.Name, h.Port, 9300+i)
		}
	}
}

func TestTransportTTY(t *testing.T) {
	tr := &Transport{Dir: t.TempDir()}
	resize := make(chan platform.WindowSize, 1)
	in, feed := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(t.Context(), &platform.Command{
			// Prints the terminal it got, then the size once it changed.
			Args:  []string{"sh", "-c", `[ -t 0 ] && [ -t 1 ] && echo "tty $TERM $(stty size)"; read x; while [ "$(stty size)" = "24 80" ]; do sleep 0.05; done; echo "now $(stty size) $x"; exit 4`},
			Stdin: in, Stdout: outW,
			TTY: &platform.TTY{Rows: 24, Cols: 80, Term: "vt100", Resize: resize},
		})
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	next := func() string {
		if !lines.Scan() {
			t.Fatalf("the terminal's output ended: %v", lines.Err())
		}
		return strings.TrimSuffix(lines.Text(), "\r")
	}
	if l := next(); l != "tty vt100 24 80" {
		t.Fatalf("first line %q", l)
	}
	feed.Write([]byte("typed\r"))
	if l := next(); l != "typed" {
		t.Fatalf("echo of the input: %q", l)
	}
	resize <- platform.WindowSize{Rows: 40, Cols: 120}
	if l := next(); l != "now 40 120 typed" {
		t.Fatalf("after the resize: %q", l)
	}
	go io.Copy(io.Discard, outR)
	select {
	case err := <-done:
		if platform.ExitCode(err) != 4 {
			t.Errorf("err = %v, want exit 4", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the command on a terminal never ended")
	}
}

func TestTransportSignalExitCode(t *testing.T) {
	tr := &Transport{Dir: t.TempDir()}
	err := tr.Run(t.Context(), &platform.Command{Args: []string{"sh", "-c", "kill -INT $$"}})
	if platform.ExitCode(err) != 130 {
		t.Errorf("err = %v, want exit 130 (128+SIGINT)", err)
	}
}
