package vagrant

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The ssh_config plat writes reads back to the same settings, and OpenSSH
// itself resolves it the same way (so `ssh -F` works for people too).
func TestRenderSSHConfigRoundTrip(t *testing.T) {
	cfgs := map[string]SSHConfig{
		"web1": {Host: "web1", HostName: "127.0.0.1", Port: 2222, User: "vagrant", IdentityFiles: []string{"/p/my project/.plat/vagrant/laptop/id_ed25519"}},
		"web2": {Host: "web2", HostName: "192.168.121.7", User: "vagrant", IdentityFiles: []string{"/a", `/b "q"`}},
	}
	kh := "/p/my project/.plat/vagrant/laptop/known_hosts"
	out := renderSSHConfig(cfgs, []string{"web1", "web2"}, kh)
	got, err := ParseSSHConfig(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got) != 2 {
		t.Fatalf("got %d hosts:\n%s", len(got), out)
	}
	for i, name := range []string{"web1", "web2"} {
		want := cfgs[name]
		g := got[i]
		if g.Host != name || g.HostName != want.HostName || g.User != want.User || !reflect.DeepEqual(g.IdentityFiles, want.IdentityFiles) {
			t.Errorf("%s: got %+v, want %+v", name, g, want)
		}
		if g.Options["hostkeyalias"] != name || g.Options["userknownhostsfile"] != kh || g.Options["identitiesonly"] != "yes" {
			t.Errorf("%s: options %v", name, g.Options)
		}
	}
	if got[1].Port != 22 {
		t.Errorf("web2 port = %d, want 22", got[1].Port)
	}

	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatalf("ssh is needed: %v", err)
	}
	path := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := exec.Command("ssh", "-G", "-F", path, "web1").CombinedOutput()
	if err != nil {
		t.Fatalf("ssh -G: %v\n%s", err, g)
	}
	for _, want := range []string{
		"hostname 127.0.0.1\n", "port 2222\n", "user vagrant\n", "hostkeyalias web1\n",
		"identityfile /p/my project/.plat/vagrant/laptop/id_ed25519\n",
		"userknownhostsfile /p/my project/.plat/vagrant/laptop/known_hosts\n",
		"stricthostkeychecking accept-new\n",
	} {
		if !strings.Contains(string(g), want) {
			t.Errorf("ssh -G lacks %q", want)
		}
	}
}
