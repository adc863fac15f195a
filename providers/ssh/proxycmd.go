package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proxyConn is a ProxyCommand's stdin and stdout as a net.Conn. Closing it
// kills the command's process group.
type proxyConn struct {
	cmd    *exec.Cmd
	r, w   *os.File
	stderr *tailBuffer
	line   string
	remote string // the server's host:port, for known_hosts

	once    sync.Once
	exited  chan struct{} // closed when the command ended
	exitErr error
}

// startProxyCommand runs line with sh -c, its stdin and stdout being the
// connection to the SSH server at remote (host:port).
func startProxyCommand(line, remote string) (*proxyConn, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	p := &proxyConn{r: outR, w: inW, stderr: &tailBuffer{max: 2048}, line: line, remote: remote, exited: make(chan struct{})}
	p.cmd = exec.Command("/bin/sh", "-c", line)
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = inR, outW, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = p.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		outR.Close()
		inW.Close()
		return nil, fmt.Errorf("start ProxyCommand %q: %w", line, err)
	}
	go func() { p.exitErr = p.cmd.Wait(); close(p.exited) }()
	return p, nil
}

// failure says why the command ended, waiting up to a second for it to
// end; nil when it is still running.
func (p *proxyConn) failure() error {
	select {
	case <-p.exited:
	case <-time.After(time.Second):
		return nil
	}
	msg := fmt.Sprintf("ProxyCommand %q ended", p.line)
	if p.exitErr != nil {
		msg += " (" + p.exitErr.Error() + ")"
	}
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		msg += ": " + s
	}
	return errors.New(msg)
}

func (p *proxyConn) Read(b []byte) (int, error) { return p.r.Read(b) }

func (p *proxyConn) Write(b []byte) (int, error) { return p.w.Write(b) }

// Close kills the command (its whole process group) and reaps it.
func (p *proxyConn) Close() error {
	p.once.Do(func() {
		p.w.Close()
		if p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		}
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
		p.r.Close()
	})
	return nil
}

type proxyAddr string

func (a proxyAddr) Network() string { return "proxycommand" }
func (a proxyAddr) String() string  { return string(a) }

func (p *proxyConn) LocalAddr() net.Addr { return proxyAddr("ProxyCommand") }

// RemoteAddr is the server's host:port, which known_hosts checking parses
// (the command line, say "nc %h %p", is no address).
func (p *proxyConn) RemoteAddr() net.Addr { return proxyAddr(p.remote) }

func (p *proxyConn) SetDeadline(t time.Time) error {
	p.r.SetDeadline(t)
	p.w.SetDeadline(t)
	return nil
}
func (p *proxyConn) SetReadDeadline(t time.Time) error  { return p.r.SetReadDeadline(t) }
func (p *proxyConn) SetWriteDeadline(t time.Time) error { return p.w.SetWriteDeadline(t) }
