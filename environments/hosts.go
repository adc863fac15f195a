package environments

import (
	"fmt"
	"strconv"
	"strings"
)

// maxExpandedHosts bounds one host pattern, so a typo such as web[1:100000]
// is an error rather than a hang.
const maxExpandedHosts = 10000

// expandHosts expands the [a:b] ranges of a host pattern, left to right:
// "web[1:3].example.org" is web1, web2, web3; "web[01:03]" keeps the
// padding (web01...); several ranges multiply ("r[1:2]-w[1:2]").
func expandHosts(pattern string) ([]string, error) {
	open := strings.IndexByte(pattern, '[')
	if open < 0 {
		if strings.IndexByte(pattern, ']') >= 0 {
			return nil, fmt.Errorf(`"]" without "[" in %q`, pattern)
		}
		if strings.TrimSpace(pattern) == "" {
			return nil, fmt.Errorf("empty host name")
		}
		if strings.ContainsAny(pattern, " \t\n/\\") {
			return nil, fmt.Errorf("%q is not a host name: it contains a space or a slash", pattern)
		}
		return []string{pattern}, nil
	}
	end := strings.IndexByte(pattern[open:], ']')
	if end < 0 {
		return nil, fmt.Errorf(`unclosed "[" in %q: write a range like web[1:12]`, pattern)
	}
	end += open
	prefix, spec, rest := pattern[:open], pattern[open+1:end], pattern[end+1:]
	lo, hi, ok := strings.Cut(spec, ":")
	if !ok || !isDigits(lo) || !isDigits(hi) {
		return nil, fmt.Errorf("[%s] in %q is not a range: write [FIRST:LAST] with two numbers, like [1:12] or [01:12]", spec, pattern)
	}
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	if errA != nil || errB != nil {
		return nil, fmt.Errorf("[%s] in %q is not a range: the numbers are too large", spec, pattern)
	}
	if b < a {
		return nil, fmt.Errorf("[%s] in %q counts down: the first number must not exceed the last", spec, pattern)
	}
	tails := []string{""}
	if rest != "" {
		var err error
		if tails, err = expandHosts(rest); err != nil {
			return nil, err
		}
	}
	if (b-a+1)*len(tails) > maxExpandedHosts {
		return nil, fmt.Errorf("%q expands to more than %d hosts", pattern, maxExpandedHosts)
	}
	width := 0
	if len(lo) > 1 && lo[0] == '0' {
		width = len(lo)
	}
	out := make([]string, 0, (b-a+1)*len(tails))
	for i := a; i <= b; i++ {
		n := fmt.Sprintf("%0*d", width, i)
		for _, t := range tails {
			out = append(out, prefix+n+t)
		}
	}
	return out, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
