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

	once    sync.Once
	waitErr chan error
}

// startProxyCommand runs line with sh -c, its stdin and stdout being the
// connection to the SSH server.
func startProxyCommand(line string) (*proxyConn, error) {
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
	p := &proxyConn{r: outR, w: inW, stderr: &tailBuffer{max: 2048}, line: line, waitErr: make(chan error, 1)}
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
	go func() { p.waitErr <- p.cmd.Wait() }()
	return p, nil
}

func (p *proxyConn) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		if s := strings.TrimSpace(p.stderr.String()); s != "" {
			return n, fmt.Errorf("ProxyCommand %q ended: %s: %w", p.line, s, err)
		}
	}
	return n, err
}

func (p *proxyConn) Write(b []byte) (int, error) { return p.w.Write(b) }

// Close kills the command (its whole process group) and reaps it.
func (p *proxyConn) Close() error {
	p.once.Do(func() {
		p.w.Close()
		if p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		}
		select {
		case <-p.waitErr:
		case <-time.After(5 * time.Second):
		}
		p.r.Close()
	})
	return nil
}

type proxyAddr string

func (a proxyAddr) Network() string { return "proxycommand" }
func (a proxyAddr) String() string  { return string(a) }

func (p *proxyConn) LocalAddr() net.Addr  { return proxyAddr("ProxyCommand") }
func (p *proxyConn) RemoteAddr() net.Addr { return proxyAddr(p.line) }

func (p *proxyConn) SetDeadline(t time.Time) error {
	p.r.SetDeadline(t)
	p.w.SetDeadline(t)
	return nil
}
func (p *proxyConn) SetReadDeadline(t time.Time) error  { return p.r.SetReadDeadline(t) }
func (p *proxyConn) SetWriteDeadline(t time.Time) error { return p.w.SetWriteDeadline(t) }
