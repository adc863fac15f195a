package vagrant

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// SSHConfig is one Host block of `vagrant ssh-config`.
type SSHConfig struct {
	// Host is the block's pattern: the Vagrant machine name.
	Host          string
	HostName      string
	User          string
	Port          int
	IdentityFiles []string
	// Options holds every other option, keyed by lower-case keyword, in
	// order of appearance (first value wins, as in OpenSSH).
	Options map[string]string
}

// ParseSSHConfig parses the OpenSSH client configuration Vagrant prints
// for one or several machines. It understands what Vagrant writes and
// what OpenSSH accepts for it: keywords in any case, "Key value" and
// "Key=value", double-quoted values (Vagrant quotes paths with spaces),
// comments and blank lines.
func ParseSSHConfig(r io.Reader) ([]SSHConfig, error) {
	var out []SSHConfig
	var cur *SSHConfig
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		key, args, err := splitConfigLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("parse ssh-config line %d: %w", n, err)
		}
		if key == "" {
			continue
		}
		if key == "host" {
			if len(args) == 0 || args[0] == "" {
				return nil, fmt.Errorf("parse ssh-config line %d: Host without a name", n)
			}
			out = append(out, SSHConfig{Host: args[0], Options: map[string]string{}})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			// Options before the first Host block apply to every host in
			// OpenSSH; Vagrant never writes any, so they are ignored.
			continue
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("parse ssh-config line %d: %s without a value", n, key)
		}
		switch key {
		case "hostname":
			cur.HostName = args[0]
		case "user":
			cur.User = args[0]
		case "port":
			p, err := strconv.Atoi(args[0])
			if err != nil || p <= 0 || p > 65535 {
				return nil, fmt.Errorf("parse ssh-config line %d: bad port %q", n, args[0])
			}
			cur.Port = p
		case "identityfile":
			cur.IdentityFiles = append(cur.IdentityFiles, args[0])
		default:
			if _, ok := cur.Options[key]; !ok {
				cur.Options[key] = strings.Join(args, " ")
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ssh-config: %w", err)
	}
	return out, nil
}

// splitConfigLine splits one ssh_config line into a lower-case keyword and
// its arguments. Empty lines and comments give key "".
func splitConfigLine(line string) (key string, args []string, err error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return "", nil, nil
	}
	// The keyword ends at whitespace or '=' (OpenSSH allows "Port=22" and
	// "Port = 22").
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return strings.ToLower(line), nil, nil
	}
	key = strings.ToLower(line[:i])
	rest := strings.TrimLeft(line[i:], " \t")
	if strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	args, err = splitArgs(rest)
	return key, args, err
}

// splitArgs splits on unquoted whitespace; double quotes group, and inside
// them a backslash escapes a quote or a backslash, as OpenSSH's argv_split
// does.
func splitArgs(s string) ([]string, error) {
	var args []string
	var b strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		case c == '"':
			quoted = !quoted
			inArg = true
		case !quoted && (c == ' ' || c == '\t'):
			if inArg {
				args = append(args, b.String())
				b.Reset()
				inArg = false
			}
		case !quoted && c == '#' && !inArg:
			// A comment after the arguments.
			i = len(s)
		default:
			b.WriteByte(c)
			inArg = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inArg {
		args = append(args, b.String())
	}
	return args, nil
}
