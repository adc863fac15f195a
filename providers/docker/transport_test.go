package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
)

func TestTransport(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1")
	p := New(Config{})
	up(t, p, app, env)
	newTransport := func(t *testing.T) platform.Transport {
		resp, err := p.Targets(testCtx(t), &platform.TargetsRequest{App: app, Env: env})
		if err != nil {
			t.Fatalf("targets: %v", err)
		}
		return resp.Targets[0].Transport
	}
	platformtest.TestTransport(t, platformtest.TransportHarness{
		New: newTransport,
		Scratch: func(t *testing.T) string {
			tr := newTransport(t)
			defer tr.Close()
			var out bytes.Buffer
			if err := tr.Run(testCtx(t), &platform.Command{Args: []string{"mktemp", "-d"}, Stdout: &out}); err != nil {
				t.Fatalf("mktemp: %v", err)
			}
			return strings.TrimSpace(out.String())
		},
	})
}

func TestRunDetails(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1")
	p := New(Config{})
	up(t, p, app, env)
	tr := targets(t, p, app, env)["web1"].Transport
	ctx := testCtx(t)

	t.Run("uncaptured stderr lands in the ExitError", func(t *testing.T) {
		err := tr.Run(ctx, &platform.Command{Args: []string{"sh", "-c", "echo boom >&2; exit 3"}})
		var e *platform.ExitError
		if !asExit(err, &e) || e.Code != 3 || e.Stderr != "boom" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("missing directory fails", func(t *testing.T) {
		err := tr.Run(ctx, &platform.Command{Args: []string{"pwd"}, Dir: "/nonexistent/plat"})
		if err == nil {
			t.Fatal("run in a missing directory succeeded")
		}
	})
	t.Run("cancel kills the whole process group", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		err := tr.Run(cctx, &platform.Command{Args: []string{"sh", "-c", "sleep 1234 & sleep 1235; wait"}})
		if err == nil {
			t.Fatal("cancelled command succeeded")
		}
		// The kill is asynchronous: poll until no sleep of ours is left.
		for i := 0; ; i++ {
			var out bytes.Buffer
			tr.Run(ctx, &platform.Command{Args: []string{"ps", "-eo", "args"}, Stdout: &out})
			if !strings.Contains(out.String(), "sleep 123") {
				break
			}
			if i == 100 {
				t.Fatalf("processes left after cancel:\n%s", out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	t.Run("put archive", func(t *testing.T) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		body := "hello from plat\n"
		tw.WriteHeader(&tar.Header{Name: "sub/", Mode: 0o755, Typeflag: tar.TypeDir})
		tw.WriteHeader(&tar.Header{Name: "sub/f.txt", Mode: 0o640, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
		tw.Close()
		dt := tr.(*Transport)
		var dir bytes.Buffer
		if err := tr.Run(ctx, &platform.Command{Args: []string{"mktemp", "-d"}, Stdout: &dir}); err != nil {
			t.Fatal(err)
		}
		d := strings.TrimSpace(dir.String())
		if err := dt.PutArchive(ctx, d, &buf); err != nil {
			t.Fatalf("put archive: %v", err)
		}
		var out bytes.Buffer
		if err := tr.Run(ctx, &platform.Command{Args: []string{"sh", "-c", "stat -c %a sub/f.txt; cat sub/f.txt"}, Dir: d, Stdout: &out}); err != nil {
			t.Fatal(err)
		}
		if out.String() != "640\n"+body {
			t.Fatalf("extracted file = %q", out.String())
		}
	})
}

func asExit(err error, e **platform.ExitError) bool {
	x, ok := err.(*platform.ExitError)
	*e = x
	return ok
}

func TestDialer(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1")
	p := New(Config{Publish: true})
	up(t, p, app, env)
	tg := targets(t, p, app, env)["web1"]
	ctx := testCtx(t)

	srvCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tg.Transport.Run(srvCtx, &platform.Command{
			Args: []string{"python3", "-m", "http.server", fmt.Sprint(tg.Port), "--bind", "0.0.0.0"},
			Dir:  "/etc", Stdout: io.Discard, Stderr: io.Discard,
		})
	}()
	defer func() { stop(); wg.Wait() }()

	d := tg.Transport.(platform.Dialer)
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 5 * time.Second}
	var body []byte
	for i := 0; ; i++ {
		// "127.0.0.1" is the target's loopback as the engine sees it.
		resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/hostname", tg.Port))
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatalf("GET through the dialer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if string(body) != "web1\n" {
		t.Fatalf("GET /hostname = %q, want web1 (served from /etc in the container)", body)
	}
	// The published port reaches the same server from this machine.
	resp, err := http.Get(tg.PublicURL + "/hostname")
	if err != nil {
		t.Fatalf("GET %s: %v", tg.PublicURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", tg.PublicURL, resp.Status)
	}
	if _, err := d.DialContext(ctx, "tcp", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "web1") {
		t.Fatalf("dial a closed port: err = %v", err)
	}
}

func TestContainerStoppedDuringCommand(t *testing.T) {
	c := testClient(t)
	app, env := testEnv(t, c, "web1")
	p := New(Config{})
	up(t, p, app, env)
	tr := targets(t, p, app, env)["web1"].Transport
	ctx := testCtx(t)

	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		w := &signalWriter{on: "started", ch: started}
		done <- tr.Run(ctx, &platform.Command{Args: []string{"sh", "-c", "echo started; sleep 60"}, Stdout: w})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("command ended early: %v", err)
	}
	zero := 0
	if _, err := c.api.ContainerStop(ctx, ContainerName(app.Name, env.Name, "web1"), client.ContainerStopOptions{Timeout: &zero}); err != nil {
		t.Fatal(err)
	}
	err := <-done
	if err == nil {
		t.Fatal("command in a stopped container succeeded")
	}
	t.Logf("error: %v", err)
	if platform.ExitCode(err) != -1 {
		t.Errorf("err is an ExitError (%v); a stopped container is a transport failure", err)
	}
	if !errors.Is(err, ErrContainerStopped) || !strings.Contains(err.Error(), "host web1") || !strings.Contains(err.Error(), "plat up "+env.Name) {
		t.Errorf("err = %v, want it to name host web1 and the fix", err)
	}
	// A new command on the stopped container fails the same way.
	err = tr.Run(ctx, &platform.Command{Args: []string{"true"}})
	if !errors.Is(err, ErrContainerStopped) || !strings.Contains(err.Error(), "host web1") {
		t.Errorf("run on a stopped container: err = %v", err)
	}
}

// signalWriter closes ch once it has seen the text on.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	on   string
	ch   chan struct{}
	done bool
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.on) {
		w.done = true
		close(w.ch)
	}
	return len(p), nil
}
