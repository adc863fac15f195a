package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// sshG parses ssh -G style output: key → values.
func sshG(out string) map[string][]string {
	g := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			k, v, _ := strings.Cut(line, " ")
			g[k] = append(g[k], v)
		}
	}
	return g
}

// TestSSHCertificatesEndToEnd pushes to real sshd hosts that accept only
// certificates: the user's key is in no authorized_keys (sshd trusts a
// user CA) and known_hosts holds only an @cert-authority line (sshd
// presents host certificates). plat ssh-config shows the resolution, which
// agrees with OpenSSH's ssh -G for the same config; OpenSSH logs in with
// the same files.
func TestSSHCertificatesEndToEnd(t *testing.T) {
	for _, bin := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is needed (apt-get install openssh-client)", bin)
		}
	}
	dir := t.TempDir()
	userCA, hostCA := filepath.Join(dir, "user_ca"), filepath.Join(dir, "host_ca")
	for _, ca := range []string{userCA, hostCA} {
		if err := sshtest.NewCA(ca); err != nil {
			t.Fatal(err)
		}
	}
	fleet := sshtest.NewWithOptions(t, sshtest.Options{N: 2, HostCA: hostCA, TrustedUserCAKeys: userCA + ".pub", NoAuthorizedKeys: true})

	// The user certificate lives apart from the key: CertificateFile.
	cert := filepath.Join(dir, "certs", "deploy.cert")
	if err := os.MkdirAll(filepath.Dir(cert), 0o700); err != nil {
		t.Fatal(err)
	}
	sign := func(validity string) {
		t.Helper()
		if err := sshtest.SignUserKey(userCA, fleet.KeyFile+".pub", "root", validity); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(fleet.KeyFile+"-cert.pub", cert); err != nil {
			t.Fatal(err)
		}
	}
	sign("")
	conf, err := os.ReadFile(fleet.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	conf = append(conf, fmt.Sprintf("\nHost *\n  CertificateFile %s\n", cert)...)
	if err := os.WriteFile(fleet.SSHConfig, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	caPub, err := os.ReadFile(hostCA + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, h := range fleet.Hosts {
		patterns = append(patterns, fmt.Sprintf("[%s]:%d", h.Addr, h.Port))
	}
	caLine := "@cert-authority " + strings.Join(patterns, ",") + " " + strings.TrimSpace(string(caPub)) + "\n"
	if err := os.WriteFile(fleet.KnownHosts, []byte(caLine), 0o600); err != nil {
		t.Fatal(err)
	}

	// OpenSSH accepts this setup: the test's files are right.
	ssh := exec.Command("ssh", "-F", fleet.SSHConfig, "host1", "echo", "openssh")
	if out, err := ssh.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "openssh" {
		t.Fatalf("ssh with the certificate: %v: %s", err, out)
	}

	p := newProject(t)
	ports := p.sshEnv(fleet, "")
	t.Cleanup(func() { p.plat("down", "fleet") })
	p.mustPlat("push", "fleet")
	serves(t, ports, "release r1")
	if data, _ := os.ReadFile(fleet.KnownHosts); string(data) != caLine {
		t.Errorf("known_hosts changed by the push: %q", data)
	}

	t.Run("ssh-config agrees with ssh -G", func(t *testing.T) {
		for _, h := range fleet.Hosts {
			r := p.mustPlat("ssh-config", "fleet", h.Name)
			plat := sshG(r.stdout)
			if got := plat["certificatefile"]; !slices.Equal(got, []string{cert}) {
				t.Errorf("%s: certificatefile %q, want %q", h.Name, got, cert)
			}
			out, err := exec.Command("ssh", "-G", "-F", fleet.SSHConfig, h.Name).Output()
			if err != nil {
				t.Fatalf("ssh -G: %v", err)
			}
			openssh := sshG(string(out))
			for _, k := range []string{"host", "hostname", "port", "user", "identityfile", "certificatefile", "identitiesonly",
				"userknownhostsfile", "stricthostkeychecking", "hashknownhosts", "serveralivecountmax", "proxyjump", "proxycommand", "hostkeyalias"} {
				if !slices.Equal(plat[k], openssh[k]) {
					t.Errorf("%s: %s: plat %q, ssh -G %q", h.Name, k, plat[k], openssh[k])
				}
			}
		}
	})

	t.Run("expired user certificate", func(t *testing.T) {
		sign("-2h:-1h")
		r := p.plat("status", "fleet")
		if r.code == 0 {
			t.Fatalf("status with an expired certificate: %s", r)
		}
		for _, want := range []string{"certificate file " + cert, "expired at", "server refused every key"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
			}
		}
		sign("")
	})

	t.Run("revoked host key", func(t *testing.T) {
		pub, err := os.ReadFile(fleet.Hosts[1].HostKeyFile + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fleet.KnownHosts, []byte(caLine+"@revoked * "+string(pub)), 0o600); err != nil {
			t.Fatal(err)
		}
		r := p.plat("push", "fleet", "--force")
		if r.code == 0 {
			t.Fatalf("push to a revoked host: %s", r)
		}
		for _, want := range []string{"host2", "is revoked", fleet.KnownHosts + " line 2"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
			}
		}
		// Nothing was switched: both hosts still run r1.
		for _, h := range fleet.Hosts {
			if cur, _ := os.Readlink(filepath.Join(h.Root, "current")); cur != "releases/r1" {
				t.Errorf("%s current -> %q", h.Name, cur)
			}
		}
	})
}
