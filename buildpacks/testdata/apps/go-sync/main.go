// Command hello is a small web app with one dependency from the Go module
// proxy. Without PORT it prints its greeting and exits. It speaks just
// enough HTTP/1.0 by hand: net/http would triple the cold build time.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"

	"golang.org/x/sync/errgroup"
)

func main() {
	var g errgroup.Group
	parts := make([]string, 2)
	g.Go(func() error { parts[0] = "hello"; return nil })
	g.Go(func() error { parts[1] = "from go"; return nil })
	if err := g.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	msg := parts[0] + " " + parts[1] + "\n"
	port := os.Getenv("PORT")
	if port == "" {
		fmt.Print(msg)
		return
	}
	l, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go serve(c, msg)
	}
}

func serve(c net.Conn, msg string) {
	defer c.Close()
	r := bufio.NewReader(c)
	for { // read the request head up to its blank line
		line, err := r.ReadString('\n')
		if err != nil || line == "\r\n" || line == "\n" {
			break
		}
	}
	fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
}
