package platform

import (
	"strings"
	"testing"
)

// FuzzParseProcfile: any Procfile either parses into valid process types
// with non-empty single-line commands, or is refused with the line number.
func FuzzParseProcfile(f *testing.F) {
	f.Add("web: python3 app.py\nworker: python3 worker.py\n")
	f.Add("# comment\n\nweb:gunicorn -b :$PORT app:app\r\nrelease: ./migrate\n")
	f.Add("web: a\nweb: b\n")
	f.Add("bad line\n")
	f.Add("we b: x\n")
	f.Fuzz(func(t *testing.T, src string) {
		procs, err := ParseProcfile(strings.NewReader(src))
		if err != nil {
			if !strings.Contains(err.Error(), "Procfile") {
				t.Fatalf("error does not say it is about the Procfile: %v", err)
			}
			return
		}
		for typ, cmd := range procs {
			if !ValidProcessType(typ) {
				t.Fatalf("accepted process type %q", typ)
			}
			if cmd == "" || strings.ContainsAny(cmd, "\n") || cmd != strings.TrimSpace(cmd) {
				t.Fatalf("process %s has command %q", typ, cmd)
			}
		}
	})
}
