package vagrant

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readRecords(t *testing.T, name string) []Record {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := ParseRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name string
		line string
		ok   bool
		want Record
	}{
		{name: "machine metadata", line: "1795702218,web1,metadata,provider,docker", ok: true,
			want: Record{Target: "web1", Type: "metadata", Data: []string{"provider", "docker"}}},
		{name: "environment ui line", line: "1795702218,,ui,info,Bringing machine 'web1' up", ok: true,
			want: Record{Type: "ui", Data: []string{"info", "Bringing machine 'web1' up"}}},
		{name: "escapes", line: `1,web1,ui,info,a%!(VAGRANT_COMMA) b\nc\rd`, ok: true,
			want: Record{Target: "web1", Type: "ui", Data: []string{"info", "a, b\nc\rd"}}},
		{name: "no data", line: "1795702218,web1,action", ok: true,
			want: Record{Target: "web1", Type: "action"}},
		{name: "trailing CRLF", line: "1,web1,state,running\r\n", ok: true,
			want: Record{Target: "web1", Type: "state", Data: []string{"running"}}},
		{name: "ruby warning", line: "/usr/lib/ruby/vendor_ruby/foo.rb:1: warning: bar, baz", ok: false},
		{name: "too few fields", line: "1795702218,web1", ok: false},
		{name: "empty type", line: "1795702218,web1,,x", ok: false},
		{name: "blank", line: "", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRecord(tt.line)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			got.Time = got.Time.UTC()
			tt.want.Time = got.Time
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
	if r, _ := ParseRecord("1795702218,web1,state,running"); r.Time.Unix() != 1795702218 {
		t.Fatalf("time = %v", r.Time)
	}
}

func TestParseStatusCaptured(t *testing.T) {
	tests := []struct {
		file string
		want []MachineState
	}{
		{"status-not-created.txt", []MachineState{
			{Name: "web1", Provider: "docker", State: "not_created", Short: "not created"},
			{Name: "web2", Provider: "docker", State: "not_created", Short: "not created"},
		}},
		{"status-running.txt", []MachineState{
			{Name: "web1", Provider: "docker", State: "running", Short: "running"},
			{Name: "web2", Provider: "docker", State: "running", Short: "running"},
		}},
		// After a failed `vagrant up` the docker provider leaves the
		// machines in its "preparing" pseudo-state; the next up recovers.
		{"status-preparing.txt", []MachineState{
			{Name: "web1", Provider: "docker", State: "preparing", Short: "preparing"},
			{Name: "web2", Provider: "docker", State: "preparing", Short: "preparing"},
		}},
		{"status-running-stopped.txt", []MachineState{
			{Name: "web1", Provider: "docker", State: "running", Short: "running"},
			{Name: "web2", Provider: "docker", State: "stopped", Short: "stopped"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := ParseStatus(readRecords(t, tt.file))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStatusEscapesCaptured(t *testing.T) {
	// The long state description holds escaped commas and newlines.
	for _, r := range readRecords(t, "status-running.txt") {
		if r.Target == "web1" && r.Type == "state-human-long" {
			want := "The container is created and running. You can stop it using\n`vagrant halt`, see logs with `vagrant docker-logs`, and\nkill/destroy it with `vagrant destroy`."
			if r.Field(0) != want {
				t.Fatalf("state-human-long = %q\nwant %q", r.Field(0), want)
			}
			return
		}
	}
	t.Fatal("no state-human-long record for web1")
}

func TestPlatformState(t *testing.T) {
	for in, want := range map[string]string{
		"running": "running", "not_created": "missing", "stopped": "stopped",
		"poweroff": "stopped", "saved": "stopped", "preparing": "preparing",
		"host_state_unknown": "host_state_unknown",
	} {
		if got := platformState(in); got != want {
			t.Errorf("platformState(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorExitCaptured(t *testing.T) {
	tests := []struct {
		file      string
		class     string
		contains  []string
		notPrefix string
	}{
		{file: "up-failed.txt", class: "Vagrant::Errors::BatchMultiError", contains: []string{
			"An error occurred while executing the action on the 'web2'\nmachine.",
			"Stderr: unknown flag: --no-such-flag",
			`"docker", "run", "--name", "plat-y-web2"`,
		}},
		{file: "ssh-config-not-ready.txt", class: "Vagrant::Errors::SSHNotReady", contains: []string{
			"is not yet ready for SSH",
			"Additionally, check the output of `vagrant status`",
		}},
		{file: "up.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			class, msg := ErrorExit(readRecords(t, tt.file))
			if class != tt.class {
				t.Fatalf("class = %q, want %q", class, tt.class)
			}
			if tt.class == "" && msg != "" {
				t.Fatalf("message = %q, want none", msg)
			}
			for _, c := range tt.contains {
				if !strings.Contains(msg, c) {
					t.Errorf("message lacks %q:\n%s", c, msg)
				}
			}
			if strings.Contains(msg, "%!(VAGRANT_COMMA)") {
				t.Errorf("message still escaped:\n%s", msg)
			}
		})
	}
}

// progressLines runs a captured output through the Progress adapter.
func progressLines(t *testing.T, file string) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	f := progressFunc(func(host, line string) { got[host] = append(got[host], line) })
	for _, r := range readRecords(t, file) {
		f(r)
	}
	return got
}

func TestProgressCaptured(t *testing.T) {
	got := progressLines(t, "up.txt")
	wantWeb1 := []string{
		"Creating and configuring docker networks...",
		"Creating the container...",
		"Name: plat-x-web1",
		"Image: plat/vagrant-sshd:bookworm",
		"Port: 127.0.0.1:2222:22",
		"Container created: f340ec72dea84a66",
		"Enabling network interfaces...",
		"Starting container...",
		"Waiting for machine to boot. This may take a few minutes...",
		"SSH address: 127.0.0.1:2222",
		"SSH username: vagrant",
		"SSH auth method: private key",
		"Warning: Connection reset. Retrying...",
		"Warning: Remote connection disconnect. Retrying...",
		"Machine booted and ready!",
	}
	if !reflect.DeepEqual(got["web1"], wantWeb1) {
		t.Errorf("web1 lines:\n%s\nwant:\n%s", strings.Join(got["web1"], "\n"), strings.Join(wantWeb1, "\n"))
	}
	if n := len(got["web2"]); n != 16 {
		t.Errorf("web2 has %d lines, want 16:\n%s", n, strings.Join(got["web2"], "\n"))
	}
	wantLocal := []string{"Bringing machine 'web1' up with 'docker' provider...", "Bringing machine 'web2' up with 'docker' provider..."}
	if !reflect.DeepEqual(got["localhost"], wantLocal) {
		t.Errorf("localhost lines = %q, want %q", got["localhost"], wantLocal)
	}

	failed := progressLines(t, "up-failed.txt")
	if l := failed["web2"]; len(l) == 0 || l[len(l)-1] != "An error occurred. The error will be shown after all tasks complete." {
		t.Errorf("web2 lines of failed up = %q", l)
	}
	for _, l := range failed["localhost"] {
		if strings.Contains(l, "error occurred") {
			t.Errorf("environment-wide error repeated as progress: %q", l)
		}
	}

	destroy := progressLines(t, "destroy.txt")
	if want := []string{"Stopping container...", "Deleting the container..."}; !reflect.DeepEqual(destroy["web1"], want) {
		t.Errorf("destroy web1 = %q, want %q", destroy["web1"], want)
	}
}

func TestParseSSHConfigCaptured(t *testing.T) {
	f, err := os.Open("testdata/ssh-config-two-machines.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseSSHConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	opts := map[string]string{
		"userknownhostsfile":     "/dev/null",
		"stricthostkeychecking":  "no",
		"passwordauthentication": "no",
		"identitiesonly":         "yes",
		"loglevel":               "FATAL",
	}
	want := []SSHConfig{
		{Host: "web1", HostName: "127.0.0.1", User: "vagrant", Port: 2222, IdentityFiles: []string{"/tmp/vx2/state dir/id_ed25519"}, Options: opts},
		{Host: "web2", HostName: "127.0.0.1", User: "vagrant", Port: 2200, IdentityFiles: []string{"/tmp/vx2/state dir/id_ed25519"}, Options: opts},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestParseSSHConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []SSHConfig
		wantErr string
	}{
		{
			name: "several identity files, key=value, comments, odd case",
			in: "# header\nHost default\n  hostname=10.0.0.5\n  PORT = 2200\n  user vagrant\n" +
				"  IdentityFile /a/b\n  IdentityFile \"/c d/e \\\"q\\\"\" # trailing comment\n  ProxyJump jump1\n  proxyjump jump2\n",
			want: []SSHConfig{{Host: "default", HostName: "10.0.0.5", Port: 2200, User: "vagrant",
				IdentityFiles: []string{"/a/b", `/c d/e "q"`}, Options: map[string]string{"proxyjump": "jump1"}}},
		},
		{
			name: "options before the first host are ignored",
			in:   "User nobody\n\nHost a\n  HostName h\n",
			want: []SSHConfig{{Host: "a", HostName: "h", Options: map[string]string{}}},
		},
		{name: "bad port", in: "Host a\n  Port twenty\n", wantErr: `line 2: bad port "twenty"`},
		{name: "unterminated quote", in: "Host a\n  IdentityFile \"/x y\n", wantErr: "unterminated quote"},
		{name: "host without name", in: "Host\n", wantErr: "Host without a name"},
		{name: "empty", in: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSSHConfig(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
