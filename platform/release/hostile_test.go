package release

import (
	"strings"
	"testing"
)

// A manifest read from a host may be anything; paths that would leave the
// release are refused, so no upload plan built on it removes or links
// outside the release.
func TestParseRefusesPathsOutsideTheRelease(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	for _, tc := range []struct{ name, line, want string }{
		{"dot-dot", "f 0644 1 " + hash + " ../../etc/passwd", "leaves the release"},
		{"inner dot-dot", "f 0644 1 " + hash + " a/../../b", "leaves the release"},
		{"absolute", "f 0644 1 " + hash + " /etc/passwd", "absolute"},
		{"empty element", "f 0644 1 " + hash + " a//b", "not clean"},
		{"unknown kind", "x 0644 1 " + hash + " a", "unknown kind"},
		{"negative size", "f 0644 -5 " + hash + " a", "negative size"},
		{"hash with a slash", "f 0644 1 ../x a", "malformed hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader("d 0755 0 - a\n" + tc.line + "\n"))
			if err == nil || !strings.Contains(err.Error(), "manifest line 2") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) = %v, want an error naming line 2 and %q", tc.line, err, tc.want)
			}
		})
	}
	m, err := Parse(strings.NewReader("f 0644 3 " + hash + " -leading dash/ünïcode \"quoted\"\n"))
	if err != nil || len(m.Entries) != 1 || m.Entries[0].Path != `-leading dash/ünïcode "quoted"` {
		t.Fatalf("odd but valid path: %v %+v", err, m)
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{"r1": true, "r42": true, "r1234567": true,
		"": false, "r": false, "r0": false, "r01": false, "../r1": false, "r1/..": false, "/etc": false, "r1x": false, "R1": false, "r-1": false,
		"r999999999": true, "r1000000000": false, "r9223372036854775807": false} {
		if ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, !want, want)
		}
	}
}
