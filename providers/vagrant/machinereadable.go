package vagrant

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// Record is one line of Vagrant's --machine-readable output:
//
//	timestamp,target,type,data...
//
// Target is the machine name, or "" for environment-wide lines. Data holds
// the remaining comma-separated fields, unescaped.
type Record struct {
	Time   time.Time
	Target string
	Type   string
	Data   []string
}

// Field returns Data[i], or "" when the record has fewer fields.
func (r Record) Field(i int) string {
	if i < len(r.Data) {
		return r.Data[i]
	}
	return ""
}

// ParseRecord parses one machine-readable line. It reports false for lines
// that are not records (Ruby warnings, plugin chatter, blank lines), which
// Vagrant sometimes interleaves with its records.
func ParseRecord(line string) (Record, bool) {
	line = strings.TrimRight(line, "\r\n")
	fields := strings.Split(line, ",")
	if len(fields) < 3 {
		return Record{}, false
	}
	ts, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil || ts < 0 {
		return Record{}, false
	}
	if fields[2] == "" {
		return Record{}, false
	}
	r := Record{
		Time:   time.Unix(ts, 0).UTC(),
		Target: fields[1],
		Type:   fields[2],
	}
	for _, f := range fields[3:] {
		r.Data = append(r.Data, unescapeField(f))
	}
	return r, true
}

// unescapeField reverses Vagrant's escaping of a data field: commas become
// %!(VAGRANT_COMMA), newlines and carriage returns become the two
// characters \n and \r. Vagrant does not escape backslashes, so a literal
// backslash-n in a message cannot be told apart from a newline; it is read
// as a newline, which is what a human reader wants.
func unescapeField(s string) string {
	if !strings.ContainsAny(s, `%\`) {
		return s
	}
	s = strings.ReplaceAll(s, "%!(VAGRANT_COMMA)", ",")
	s = strings.ReplaceAll(s, `\n`, "\n")
	s = strings.ReplaceAll(s, `\r`, "\r")
	return s
}

// ParseRecords reads every record from r, skipping lines that are not
// records.
func ParseRecords(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if rec, ok := ParseRecord(sc.Text()); ok {
			out = append(out, rec)
		}
	}
	return out, sc.Err()
}

// ErrorExit returns the message of the first error-exit record (Vagrant
// writes one when a command fails) and its error class, or "" when there
// is none.
func ErrorExit(recs []Record) (class, message string) {
	for _, r := range recs {
		if r.Type == "error-exit" {
			return r.Field(0), strings.TrimSpace(r.Field(1))
		}
	}
	return "", ""
}

// UILines turns a ui record into the lines a human reads, attributed to a
// machine: Vagrant's own "==> web1: " and "    web1: " prefixes are removed
// so plat can print its own "[web1] " prefix. Environment-wide lines
// (Target "") get host "". Blank lines are dropped.
func UILines(r Record) (host string, lines []string) {
	if r.Type != "ui" {
		return "", nil
	}
	host = r.Target
	for _, l := range strings.Split(r.Field(1), "\n") {
		l = strings.TrimRight(l, "\r \t")
		if host != "" {
			l = stripMachinePrefix(l, host)
		}
		if strings.TrimSpace(l) == "" {
			continue
		}
		lines = append(lines, l)
	}
	return host, lines
}

func stripMachinePrefix(l, host string) string {
	t := strings.TrimLeft(l, " ")
	t = strings.TrimPrefix(t, "==> ")
	if rest, ok := strings.CutPrefix(t, host+":"); ok {
		return strings.TrimSpace(rest)
	}
	return l
}
