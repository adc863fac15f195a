package hostcmd

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func testUnits() Units {
	return Units{
		App: "notes", Env: "prod", Host: "web1.phx1", DeployTo: "/data/prod/www/notes", Release: "r42",
		Procs: map[string]string{
			"web":    `exec python3 app.py --motd "100% of $USER"`,
			"worker": "python3 worker.py",
		},
		Vars:  map[string]string{"PORT": "8000", "PLAT_RELEASE": "r42", "GREETING": `say "hi" \ 50%`},
		Drain: 10 * time.Second,
	}
}

func TestSystemdUnitsGolden(t *testing.T) {
	var b strings.Builder
	for _, f := range testUnits().Files() {
		b.WriteString("=== " + f[0] + "\n" + f[1])
	}
	golden := filepath.Join("testdata", "units.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("units differ from %s (go test -update after checking):\n%s", golden, b.String())
	}
}

// TestSystemdUnitsVerify has systemd-analyze check the units (keys,
// sections, the executable) where it is installed.
func TestSystemdUnitsVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	for _, f := range testUnits().Files() {
		path := filepath.Join(dir, f[0])
		if err := os.WriteFile(path, []byte(f[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", f[0], err, out)
		}
	}
}

func TestUnitName(t *testing.T) {
	for _, tc := range []struct{ app, env, host, kind, want string }{
		{"notes", "prod", "web1", "web", "plat-notes-prod-web1-web.service"},
		{"my app", "eu/west", "10.0.0.1", "web", "plat-my_app-eu_west-10.0.0.1-web.service"},
	} {
		if got := UnitName(tc.app, tc.env, tc.host, tc.kind); got != tc.want {
			t.Errorf("UnitName(%q, %q, %q, %q) = %q, want %q", tc.app, tc.env, tc.host, tc.kind, got, tc.want)
		}
	}
	if got := testUnits().Names(); !reflect.DeepEqual(got, []string{"plat-notes-prod-web1.phx1-web.service", "plat-notes-prod-web1.phx1-worker.service"}) {
		t.Errorf("Names = %v", got)
	}
}

// TestSystemdScripts runs the install, start and stop scripts with a
// stand-in systemctl that records its arguments (this machine runs no
// systemd user manager).
func TestSystemdScripts(t *testing.T) {
	home := t.TempDir()
	bin := t.TempDir()
	calls := filepath.Join(home, "calls")
	fake := "#!/bin/sh\necho \"$*\" >> " + calls + "\n"
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(args []string) {
		t.Helper()
		c := exec.Command(args[0], args[1:]...)
		c.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME=", "PATH="+bin+":"+os.Getenv("PATH"))
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args[:3], err, out)
		}
	}
	dir := filepath.Join(home, ".config", "systemd", "user")
	other := filepath.Join(dir, "plat-notes-prod-web2.phx1-worker.service")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("another host's unit\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	u := testUnits()
	u.DeployTo = filepath.Join(home, "notes") // a first push: no .plat/logs yet
	run(SystemdInstall(u).Args)
	if fi, err := os.Stat(filepath.Join(u.DeployTo, ".plat", "logs")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the units' log directory (systemd fails a unit whose StandardOutput directory is missing): %v", err)
	}
	for _, f := range u.Files() {
		b, err := os.ReadFile(filepath.Join(dir, f[0]))
		if err != nil || string(b) != f[1] {
			t.Errorf("%s on the host: %v\n%s", f[0], err, b)
		}
	}
	run(SystemdStart(u.Names()...).Args)

	// The worker leaves the Procfile: its unit is disabled and removed.
	delete(u.Procs, "worker")
	run(SystemdInstall(u).Args)
	if _, err := os.Stat(filepath.Join(dir, "plat-notes-prod-web1.phx1-worker.service")); !os.IsNotExist(err) {
		t.Errorf("the dropped worker's unit is still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another host's unit was touched: %v", err)
	}
	run(SystemdStop("notes", "prod", "web1.phx1").Args)

	b, _ := os.ReadFile(calls)
	want := strings.Join([]string{
		"--user daemon-reload",
		"--user enable plat-notes-prod-web1.phx1-web.service plat-notes-prod-web1.phx1-worker.service",
		"--user restart plat-notes-prod-web1.phx1-web.service plat-notes-prod-web1.phx1-worker.service",
		"--user disable --now plat-notes-prod-web1.phx1-worker.service",
		"--user daemon-reload",
		"--user stop plat-notes-prod-web1.phx1-web.service",
	}, "\n") + "\n"
	if string(b) != want {
		t.Errorf("systemctl calls:\n%s\nwant:\n%s", b, want)
	}
}
