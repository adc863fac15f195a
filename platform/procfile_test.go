package platform

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseProcfile(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{
			name: "types comments and blank lines",
			in:   "# processes\n\nweb: python3 app.py --port $PORT\n  worker:   celery -A app worker  \nrelease: ./migrate.sh\n",
			want: map[string]string{"web": "python3 app.py --port $PORT", "worker": "celery -A app worker", "release": "./migrate.sh"},
		},
		{
			name: "colon inside the command",
			in:   "web: sh -c 'echo a:b'\n",
			want: map[string]string{"web": "sh -c 'echo a:b'"},
		},
		{name: "dashes and underscores", in: "web-2: a\nlow_prio: b", want: map[string]string{"web-2": "a", "low_prio": "b"}},
		{name: "no colon", in: "web: ok\njust a command\n", wantErr: "line 2"},
		{name: "bad type", in: "\n\nweb server: x\n", wantErr: "line 3"},
		{name: "non-ASCII type", in: "wéb: x\n", wantErr: "line 1"},
		{name: "empty command", in: "web:\n", wantErr: `line 1: process type "web" has no command`},
		{name: "duplicate", in: "web: a\n# c\nweb: b\n", wantErr: `line 3: process type "web" already defined on line 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcfile(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
