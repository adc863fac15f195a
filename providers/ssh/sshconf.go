package ssh

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// This file evaluates ssh_config(5) the way OpenSSH's client does, for the
// options plat uses: Host and Match blocks (host, originalhost, user,
// localuser, exec, all, canonical, final, each negatable with "!"),
// Include (relative paths in ~/.ssh for the user's file and in /etc/ssh
// for the system's), first value wins except for the options that
// accumulate (IdentityFile, CertificateFile), and the second pass that
// "Match final", "Match canonical" and CanonicalizeHostname ask for, where
// Host and Match host see the HostName after substitution.
//
// What plat does not do: canonicalize names through DNS with
// CanonicalDomains (the second pass runs, the name is left as it is).

// maxIncludeDepth bounds nested Include, as OpenSSH does.
const maxIncludeDepth = 16

// matchExecTimeout bounds each "Match exec" command.
const matchExecTimeout = 30 * time.Second

// sshConfig is the ssh_config files to evaluate, the user's first.
type sshConfig struct {
	files []confFile
}

type confFile struct {
	path   string
	system bool // relative Includes are in /etc/ssh instead of ~/.ssh
}

// accumulating options collect every value instead of keeping the first.
var accumulating = map[string]bool{"identityfile": true, "certificatefile": true}

// rawRest options take the rest of the line as one value.
var rawRest = map[string]bool{"proxycommand": true, "localcommand": true, "remotecommand": true, "knownhostscommand": true}

// loadSSHConfig names the files to read (path alone, or the user's and
// the system's files when path is ""). Missing files are skipped; a file
// whose lines do not parse is an error naming it.
func loadSSHConfig(path string) (*sshConfig, error) {
	c := &sshConfig{}
	if path != "" {
		c.files = []confFile{{path: expandHome(path)}}
	} else {
		if home := userHome(); home != "" {
			c.files = append(c.files, confFile{path: filepath.Join(home, ".ssh", "config")})
		}
		c.files = append(c.files, confFile{path: "/etc/ssh/ssh_config", system: true})
	}
	var kept []confFile
	for _, f := range c.files {
		lines, err := readConfLines(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			if err := l.check(); err != nil {
				return nil, err
			}
		}
		kept = append(kept, f)
	}
	c.files = kept
	return c, nil
}

// confLine is one keyword line.
type confLine struct {
	file string
	num  int
	key  string   // lower case
	args []string // unquoted words
	raw  string   // everything after the keyword and its separator
	// order is when the option was taken, over both passes.
	order int
}

func (l confLine) where() string { return fmt.Sprintf("%s line %d", l.file, l.num) }

func (l confLine) check() error {
	switch l.key {
	case "host":
		if len(l.args) == 0 {
			return fmt.Errorf("ssh config %s: Host without a pattern", l.where())
		}
	case "match":
		if _, err := parseMatch(l); err != nil {
			return err
		}
	case "include":
		if len(l.args) == 0 {
			return fmt.Errorf("ssh config %s: Include without a file", l.where())
		}
	}
	return nil
}

func readConfLines(path string) ([]confLine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read ssh config: %w", err)
	}
	var out []confLine
	for i, text := range strings.Split(string(data), "\n") {
		text = strings.TrimSpace(strings.TrimSuffix(text, "\r"))
		if text == "" || text[0] == '#' {
			continue
		}
		n := strings.IndexAny(text, " \t=")
		key, rest := text, ""
		if n >= 0 {
			key, rest = text[:n], strings.TrimLeft(text[n:], " \t")
			if strings.HasPrefix(rest, "=") {
				rest = strings.TrimLeft(rest[1:], " \t")
			}
		}
		l := confLine{file: path, num: i + 1, key: strings.ToLower(key), raw: rest}
		args, err := splitArgs(rest)
		if err != nil {
			return nil, fmt.Errorf("parse ssh config %s line %d: %w", path, i+1, err)
		}
		l.args = args
		if !rawRest[l.key] && len(args) == 0 && l.key != "match" && l.key != "host" {
			return nil, fmt.Errorf("parse ssh config %s line %d: %s has no value", path, i+1, key)
		}
		out = append(out, l)
	}
	return out, nil
}

// splitArgs splits words, honouring double and single quotes and
// backslash escapes; an unquoted # starting a word ends the line.
func splitArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else if ch == '\\' && i+1 < len(s) && (s[i+1] == quote || s[i+1] == '\\') {
				i++
				cur.WriteByte(s[i])
			} else {
				cur.WriteByte(ch)
			}
		case ch == '"' || ch == '\'':
			quote, inWord = ch, true
		case ch == ' ' || ch == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '#' && !inWord:
			return out, nil
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// confOptions is what the config says for one host.
type confOptions struct {
	vals  map[string]confLine   // first line of each option
	multi map[string][]confLine // accumulating options, in order
}

func (o *confOptions) get(key string) string {
	l, ok := o.vals[key]
	if !ok {
		return ""
	}
	if rawRest[key] {
		return l.raw
	}
	return l.args[0]
}

func (o *confOptions) words(key string) []string { return o.vals[key].args }

func (o *confOptions) all(key string) []string {
	var out []string
	for _, l := range o.multi[key] {
		out = append(out, l.args[0])
	}
	return out
}

// evalState is one pass over the files.
type evalState struct {
	opts      *confOptions
	host      string // what Host and Match host see
	original  string // the name as plat was given it
	final     bool
	wantFinal bool
	seq       int
}

// evaluate computes the options for alias.
func (c *sshConfig) evaluate(alias string) (*confOptions, error) {
	st := &evalState{opts: &confOptions{vals: map[string]confLine{}, multi: map[string][]confLine{}}, host: alias, original: alias}
	if err := c.pass(st); err != nil {
		return nil, err
	}
	hostname := alias
	if h := st.opts.get("hostname"); h != "" {
		hostname = strings.ReplaceAll(h, "%h", alias)
	}
	canon := strings.ToLower(st.opts.get("canonicalizehostname"))
	if st.wantFinal || (canon != "" && canon != "no") {
		// The second pass sees the substituted name, and the options of
		// the first pass stay (first value wins).
		st.opts.vals["hostname"] = confLine{key: "hostname", args: []string{hostname}, raw: hostname}
		st.host = hostname
		st.final = true
		if err := c.pass(st); err != nil {
			return nil, err
		}
	}
	return st.opts, nil
}

func (c *sshConfig) pass(st *evalState) error {
	for _, f := range c.files {
		if err := c.evalFile(st, f.path, f.system, true, 0); err != nil {
			return err
		}
	}
	return nil
}

func (c *sshConfig) evalFile(st *evalState, path string, system, active bool, depth int) error {
	lines, err := readConfLines(path)
	if err != nil {
		if depth > 0 && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, l := range lines {
		switch l.key {
		case "host":
			active = matchHostLine(l.args, st.host)
			continue
		case "match":
			m, err := parseMatch(l)
			if err != nil {
				return err
			}
			active, err = m.eval(st)
			if err != nil {
				return err
			}
			continue
		}
		if !active {
			continue
		}
		switch {
		case l.key == "include":
			if depth+1 > maxIncludeDepth {
				return fmt.Errorf("ssh config %s: Include nested more than %d deep", l.where(), maxIncludeDepth)
			}
			for _, pat := range l.args {
				pat = expandEnv(expandHome(pat))
				if !filepath.IsAbs(pat) {
					if system {
						pat = filepath.Join("/etc/ssh", pat)
					} else {
						pat = filepath.Join(userHome(), ".ssh", pat)
					}
				}
				matches, err := filepath.Glob(pat)
				if err != nil {
					return fmt.Errorf("ssh config %s: Include %s: %w", l.where(), pat, err)
				}
				for _, m := range matches {
					if err := c.evalFile(st, m, system, true, depth+1); err != nil {
						return err
					}
				}
			}
		case accumulating[l.key]:
			if !strings.EqualFold(l.args[0], "none") {
				st.opts.multi[l.key] = append(st.opts.multi[l.key], l)
			}
		default:
			if _, ok := st.opts.vals[l.key]; !ok {
				st.seq++
				l.order = st.seq
				st.opts.vals[l.key] = l
			}
		}
	}
	return nil
}

// matchHostLine is a Host line: some pattern matches and no negated one.
func matchHostLine(patterns []string, host string) bool {
	host = strings.ToLower(host)
	ok := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.ToLower(strings.TrimPrefix(p, "!"))
		if wildMatch(p, host) {
			if neg {
				return false
			}
			ok = true
		}
	}
	return ok
}

// matchList is a comma-separated pattern list: some pattern matches and
// no negated one.
func matchList(list, s string, fold bool) bool {
	if fold {
		s = strings.ToLower(s)
	}
	ok := false
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		if fold {
			p = strings.ToLower(p)
		}
		if wildMatch(p, s) {
			if neg {
				return false
			}
			ok = true
		}
	}
	return ok
}

// wildMatch matches s against a pattern of * and ?.
func wildMatch(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if wildMatch(p, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return s == ""
}

type matchCrit struct {
	neg  bool
	attr string
	arg  string
}

type matchLine struct {
	line  confLine
	crits []matchCrit
}

func parseMatch(l confLine) (*matchLine, error) {
	m := &matchLine{line: l}
	if len(l.args) == 0 {
		return nil, fmt.Errorf("parse ssh config %s: Match without a criterion", l.where())
	}
	for i := 0; i < len(l.args); i++ {
		a := l.args[i]
		c := matchCrit{}
		if strings.HasPrefix(a, "!") {
			c.neg, a = true, a[1:]
		}
		c.attr = strings.ToLower(a)
		switch c.attr {
		case "all", "canonical", "final":
		case "host", "originalhost", "user", "localuser", "exec":
			if i+1 >= len(l.args) {
				return nil, fmt.Errorf("parse ssh config %s: Match %s needs an argument", l.where(), a)
			}
			i++
			c.arg = l.args[i]
		default:
			return nil, fmt.Errorf("parse ssh config %s: Match %s is not a criterion plat knows (host, originalhost, user, localuser, exec, all, canonical, final)", l.where(), a)
		}
		m.crits = append(m.crits, c)
	}
	for _, c := range m.crits {
		if c.attr == "all" {
			for _, o := range m.crits {
				if o.attr != "all" && o.attr != "canonical" && o.attr != "final" {
					return nil, fmt.Errorf("parse ssh config %s: Match all goes alone or with canonical/final", l.where())
				}
			}
		}
	}
	return m, nil
}

func (m *matchLine) eval(st *evalState) (bool, error) {
	result := true
	for _, c := range m.crits {
		var r bool
		switch c.attr {
		case "all":
			r = true
		case "canonical", "final":
			if c.attr == "final" {
				st.wantFinal = true
			}
			r = st.final
		case "host":
			host := st.host
			if !st.final {
				if h := st.opts.get("hostname"); h != "" {
					host = strings.ReplaceAll(h, "%h", st.original)
				}
			}
			r = matchList(c.arg, host, true)
		case "originalhost":
			r = matchList(c.arg, st.original, true)
		case "user":
			r = matchList(c.arg, st.remoteUser(), false)
		case "localuser":
			r = matchList(c.arg, localUser(), false)
		case "exec":
			if !result {
				continue // OpenSSH runs no command once the line cannot match
			}
			var err error
			r, err = st.runExec(m.line, c.arg)
			if err != nil {
				return false, err
			}
		}
		if r == c.neg {
			result = false
		}
	}
	return result, nil
}

func (st *evalState) remoteUser() string {
	if u := st.opts.get("user"); u != "" {
		return u
	}
	return localUser()
}

func (st *evalState) port() int {
	if n, err := strconv.Atoi(st.opts.get("port")); err == nil && n > 0 {
		return n
	}
	return 22
}

func (st *evalState) runExec(l confLine, cmd string) (bool, error) {
	host := st.host
	if !st.final {
		if h := st.opts.get("hostname"); h != "" {
			host = strings.ReplaceAll(h, "%h", st.original)
		}
	}
	line := expandTokens(cmd, tokenValues{host: host, original: st.original, port: st.port(), ruser: st.remoteUser(), hostKeyAlias: st.opts.get("hostkeyalias")})
	shell := os.Getenv("SHELL")
	if shell == "" {
		shell = "/bin/sh"
	}
	ctx, cancel := context.WithTimeout(context.Background(), matchExecTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, shell, "-c", line)
	err := c.Run()
	if ctx.Err() != nil {
		return false, fmt.Errorf("ssh config %s: Match exec %q did not finish within %s", l.where(), cmd, matchExecTimeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ssh config %s: Match exec %q: %w", l.where(), cmd, err)
	}
	return true, nil
}

// tokenValues are what ssh_config's % tokens stand for.
type tokenValues struct {
	host, original, ruser, hostKeyAlias string
	port                                int
}

// expandTokens replaces ssh_config % tokens: %% %C %d %h %i %k %L %l %n
// %p %r %u. An unknown token is left as it is.
func expandTokens(s string, v tokenValues) string {
	if !strings.Contains(s, "%") {
		return s
	}
	lhost, _ := os.Hostname()
	short := lhost
	if i := strings.IndexByte(short, '.'); i >= 0 {
		short = short[:i]
	}
	k := v.hostKeyAlias
	if k == "" {
		k = v.original
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'C':
			sum := sha1.Sum([]byte(lhost + v.host + strconv.Itoa(v.port) + v.ruser))
			b.WriteString(hex.EncodeToString(sum[:]))
		case 'd':
			b.WriteString(userHome())
		case 'h':
			b.WriteString(v.host)
		case 'i':
			b.WriteString(strconv.Itoa(os.Getuid()))
		case 'k':
			b.WriteString(k)
		case 'L':
			b.WriteString(short)
		case 'l':
			b.WriteString(lhost)
		case 'n':
			b.WriteString(v.original)
		case 'p':
			b.WriteString(strconv.Itoa(v.port))
		case 'r':
			b.WriteString(v.ruser)
		case 'u':
			b.WriteString(localUser())
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// expandEnv replaces ${NAME} with the environment variable's value.
func expandEnv(s string) string {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return s
		}
		s = s[:i] + os.Getenv(s[i+2:i+j]) + s[i+j+1:]
	}
}

// userHome is the home directory ~ stands for.
func userHome() string {
	home, _ := os.UserHomeDir()
	return home
}

func localUser() string {
	u, _ := currentUser()
	return u
}
