// Command semverweb serves a value computed by its one dependency, a
// module from the Go module proxy (golang.org/x/mod/semver). It speaks
// just enough HTTP/1.0 by hand: net/http would triple the cold build time.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"

	"golang.org/x/mod/semver"
)

func main() {
	msg := fmt.Sprintf("semver.Canonical(v1.2) = %s\nsemver.Max(v1.9.0, v1.10.0) = %s\n",
		semver.Canonical("v1.2"), semver.Max("v1.9.0", "v1.10.0"))
	port := os.Getenv("PORT")
	if port == "" {
		fmt.Print(msg)
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
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
