package environments

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// viaHost is what the host part of `via` may be: an ssh_config alias, a
// DNS name or an IP address. Nothing a shell or ssh_config would read
// specially (spaces, %, quotes), so the value means the same to
// `ssh VALUE` and to plat.
var viaHost = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$|^[0-9A-Fa-f:.]+$`)

// viaUser is a login name.
var viaUser = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// decodeVia evaluates an environment's via attribute: the admin node
// that runs this environment's pushes, as `ssh` would be given it.
func (l *loader) decodeVia(at *hcl.Attribute, sc scope) string {
	v, ok := l.str(at, sc)
	if !ok {
		return ""
	}
	if _, _, _, err := SplitDestination(v); err != nil {
		l.invalid(at, "Invalid via", fmt.Sprintf("via names the admin node that runs this environment's pushes, as you would give it to ssh: an ssh_config alias, a host name, or user@host:port; %q %v.", v, err))
		return ""
	}
	return v
}

// SplitDestination splits an SSH destination written [user@]host[:port]
// (an IPv6 address in brackets when it has a port). Port is 0 when the
// destination names none (ssh_config's, or 22).
func SplitDestination(s string) (user, host string, port int, err error) {
	if s == "" {
		return "", "", 0, fmt.Errorf("is empty")
	}
	rest := s
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		user, rest = rest[:i], rest[i+1:]
		if !viaUser.MatchString(user) {
			return "", "", 0, fmt.Errorf("has an invalid user name %q", user)
		}
	}
	host = rest
	if strings.HasPrefix(rest, "[") || strings.Count(rest, ":") == 1 {
		h, p, serr := net.SplitHostPort(rest)
		if serr != nil {
			return "", "", 0, fmt.Errorf("is not host:port")
		}
		n, perr := strconv.Atoi(p)
		if perr != nil || n <= 0 || n > 65535 {
			return "", "", 0, fmt.Errorf("has an invalid port %q", p)
		}
		host, port = h, n
	}
	if !viaHost.MatchString(host) {
		return "", "", 0, fmt.Errorf("has an invalid host %q", host)
	}
	return user, host, port, nil
}
