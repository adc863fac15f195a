package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// Hosts that misbehave (issue 13, item 3): each test bounds its own run
// with a context, so a regression fails instead of hanging.

// muteListener accepts TCP connections and never says a word: a host
// whose port is open but whose SSH server never greets.
func muteListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestDialHostThatNeverSpeaksSSH(t *testing.T) {
	t.Parallel()
	addr := muteListener(t)
	host, port, _ := net.SplitHostPort(addr)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	key := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(key, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := HostSpec{
		Alias: "mute", HostName: host, User: "root", IdentityFiles: []string{key},
		ConfigFile: filepath.Join(t.TempDir(), "none"), KnownHostsFile: filepath.Join(t.TempDir(), "kh"),
		AgentSocket: "none", ConnectTimeout: 300 * time.Millisecond,
	}
	spec.Port, _ = strconv.Atoi(port)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err := Dial(ctx, spec)
	if err == nil {
		t.Fatal("dial a host that never speaks SSH succeeded")
	}
	if ctx.Err() != nil {
		t.Fatalf("the dial was stopped by the test's bound, not by connect_timeout: %v", err)
	}
	for _, want := range []string{"mute", addr, "connect_timeout", "300ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// stallSpec is a hermetic spec with short keepalives, so a stall is
// detected in about a second.
func stallSpec(t *testing.T, f *sshtest.Fleet, h *sshtest.Host) HostSpec {
	spec := hermeticSpec(t, f, h)
	spec.KeepAlive = 300 * time.Millisecond
	spec.KeepAliveCountMax = 3
	return spec
}

// streamUntil runs `cat > FILE` on the host with an endless stream of
// random bytes on stdin (an upload that never ends) and returns once the
// host has received some of it, with a channel for Run's result.
func streamUntil(t *testing.T, ctx context.Context, c *Conn, h *sshtest.Host) <-chan error {
	t.Helper()
	dst := filepath.Join(h.Root, "upload.bin")
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, &platform.Command{Args: []string{"sh", "-c", `cat > "$1"`, "sh", dst}, Stdin: io.LimitReader(rand.Reader, 1<<40)})
	}()
	for {
		if st, err := os.Stat(dst); err == nil && st.Size() > 1<<20 {
			return done
		}
		select {
		case err := <-done:
			t.Fatalf("upload ended before the fault: %v", err)
		case <-ctx.Done():
			t.Fatal("upload did not start")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestStalledSessionDuringUploadIsConnectionLost(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	c := dial(t, stallSpec(t, f, h))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := streamUntil(t, ctx, c, h)
	if _, err := h.StallConnections(); err != nil {
		t.Fatal(err)
	}
	err := <-done
	if ctx.Err() != nil {
		t.Fatalf("the upload was stopped by the test's bound, not by keepalives: %v", err)
	}
	assertLost(t, err, h.Name)
	for _, want := range []string{"no answer from the host for 900ms", "server_alive_interval 300ms × server_alive_count_max 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The host itself is fine: a new connection works.
	if err := h.Thaw(); err != nil {
		t.Fatal(err)
	}
	output(t, dial(t, stallSpec(t, f, h)), "true")
}

func TestStalledSessionDuringDial(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	c := dial(t, stallSpec(t, f, h))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go io.Copy(nc, nc)
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	nc, err := c.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := h.StallConnections(); err != nil {
		t.Fatal(err)
	}
	// A read on a forwarded connection of a stalled session ends when
	// the keepalives give up, and the next dial fails at once.
	nc.Write([]byte("ping"))
	buf := make([]byte, 64)
	for {
		if _, err = nc.Read(buf); err != nil {
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatal("the read was stopped by the test's bound")
	}
	_, err = c.DialContext(ctx, "tcp", l.Addr().String())
	assertLost(t, err, h.Name)
}

func TestDroppedConnectionDuringUploadIsConnectionLost(t *testing.T) {
	t.Parallel()
	f := sshtest.New(t, 1)
	h := f.Hosts[0]
	// Keepalives far longer than the test's bound: the drop itself must
	// end the upload.
	spec := hermeticSpec(t, f, h)
	spec.KeepAlive = time.Hour
	c := dial(t, spec)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := streamUntil(t, ctx, c, h)
	if _, err := h.DropConnections(); err != nil {
		t.Fatal(err)
	}
	err := <-done
	if ctx.Err() != nil {
		t.Fatalf("the upload was stopped by the test's bound: %v", err)
	}
	assertLost(t, err, h.Name)
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "keepalive") {
		t.Errorf("a dropped connection is not a keepalive timeout: %v", err)
	}
	output(t, dial(t, spec), "true")
}

func TestKeepAliveSettings(t *testing.T) {
	for _, tt := range []struct {
		name     string
		values   map[string]any
		interval time.Duration
		max      int
	}{
		{"unset: ssh_config's, or the defaults", nil, 0, 0},
		{"set", map[string]any{"server_alive_interval": "2s", "server_alive_count_max": float64(4)}, 2 * time.Second, 4},
		{"0s turns them off", map[string]any{"server_alive_interval": "0s"}, -1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Factory{}.New(platform.ProviderConfig{Type: "ssh", Values: tt.values})
			if err != nil {
				t.Fatal(err)
			}
			spec, err := p.(*provider).spec(&platform.Host{Name: "web1"}, "")
			if err != nil {
				t.Fatal(err)
			}
			if spec.KeepAlive != tt.interval || spec.KeepAliveCountMax != tt.max {
				t.Errorf("keepalive %s × %d, want %s × %d", spec.KeepAlive, spec.KeepAliveCountMax, tt.interval, tt.max)
			}
		})
	}
	// Unset everywhere, a connection is still bounded: 15s × 3.
	e, err := resolve(HostSpec{Alias: "web1", User: "u", KnownHostsFile: "/kh"}, &sshConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if e.keepAlive != DefaultKeepAlive || e.keepAliveMax != DefaultKeepAliveCountMax || e.connectTimeout != DefaultConnectTimeout {
		t.Errorf("defaults: keepalive %s × %d, connect %s", e.keepAlive, e.keepAliveMax, e.connectTimeout)
	}

	for _, tt := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"count zero", map[string]any{"server_alive_count_max": float64(0)}, "plat.hcl:7:30: ssh provider: server_alive_count_max = 0: want a whole number"},
		{"count fraction", map[string]any{"server_alive_count_max": 2.5}, "plat.hcl:7:30: ssh provider: server_alive_count_max = 2.5"},
		{"interval", map[string]any{"server_alive_interval": "soon"}, `plat.hcl:7:30: ssh provider: server_alive_interval = "soon" is not a duration`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			where := map[string]string{}
			for k := range tt.values {
				where[k] = "plat.hcl:7:30"
			}
			_, err := Factory{}.New(platform.ProviderConfig{Type: "ssh", Values: tt.values, Where: where})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
