package ssh

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plat-sh/plat/providers/ssh/sshtest"
)

// certFleet is one real sshd that authenticates users only by certificates
// of userCA (the client key is not in authorized_keys) and presents host
// certificates of hostCA; knownHosts has nothing but an @cert-authority
// line for hostCA.
type certFleet struct {
	f              *sshtest.Fleet
	h              *sshtest.Host
	userCA, hostCA string
	knownHosts     string
	caLine         string
}

func newCertFleet(t *testing.T) *certFleet {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is needed (apt-get install openssh-client)")
	}
	dir := t.TempDir()
	c := &certFleet{userCA: filepath.Join(dir, "user_ca"), hostCA: filepath.Join(dir, "host_ca")}
	for _, ca := range []string{c.userCA, c.hostCA} {
		if err := sshtest.NewCA(ca); err != nil {
			t.Fatal(err)
		}
	}
	c.f = sshtest.NewWithOptions(t, sshtest.Options{N: 1, HostCA: c.hostCA, TrustedUserCAKeys: c.userCA + ".pub", NoAuthorizedKeys: true})
	c.h = c.f.Hosts[0]
	caPub, err := os.ReadFile(c.hostCA + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	// The pattern matches every fleet address on this port.
	c.caLine = fmt.Sprintf("@cert-authority [127.0.0.*]:%d %s", c.h.Port, strings.TrimSpace(string(caPub)))
	c.knownHosts = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(c.knownHosts, []byte(c.caLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// key writes a new ed25519 user key with ssh-keygen.
func (c *certFleet) key(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	return p
}

func (c *certFleet) spec(t *testing.T, key string) HostSpec {
	return HostSpec{
		Alias:          c.h.Name,
		HostName:       c.h.Addr,
		Port:           c.h.Port,
		User:           "root",
		IdentityFiles:  []string{key},
		KnownHostsFile: c.knownHosts,
		ConfigFile:     filepath.Join(t.TempDir(), "no-ssh-config"),
		AgentSocket:    "none",
		ConnectTimeout: 5 * time.Second,
	}
}

func TestCertificatesEndToEnd(t *testing.T) {
	t.Parallel()
	c := newCertFleet(t)

	t.Run("identity-cert.pub next to the key", func(t *testing.T) {
		key := c.key(t, "id_ed25519")
		spec := c.spec(t, key)
		// Without a certificate the key is refused: only certificates
		// authenticate on this host.
		if _, err := Dial(t.Context(), spec); err == nil || !strings.Contains(err.Error(), "server refused every key") {
			t.Fatalf("uncertified key: err = %v, want refused", err)
		}
		if err := sshtest.SignUserKey(c.userCA, key+".pub", "root", ""); err != nil {
			t.Fatal(err)
		}
		conn := dial(t, spec)
		if got := output(t, conn, "id", "-un"); got != "root\n" {
			t.Fatalf("id -un = %q", got)
		}
	})

	t.Run("CertificateFile in ssh_config", func(t *testing.T) {
		key := c.key(t, "deploy")
		if err := sshtest.SignUserKey(c.userCA, key+".pub", "root", "-5m:+1h"); err != nil {
			t.Fatal(err)
		}
		certDir := t.TempDir()
		cert := filepath.Join(certDir, "deploy.cert")
		if err := os.Rename(key+"-cert.pub", cert); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(t.TempDir(), "ssh_config")
		text := fmt.Sprintf("Host %s\n  HostName %s\n  Port %d\n  User root\n  IdentityFile %s\n  CertificateFile %s/%%n.cert\n  UserKnownHostsFile %s\n",
			"deploy", c.h.Addr, c.h.Port, key, certDir, c.knownHosts)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		conn := dial(t, HostSpec{Alias: "deploy", ConfigFile: conf, AgentSocket: "none"})
		if got := output(t, conn, "echo", "certificate file"); got != "certificate file\n" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("certificate in ssh-agent", func(t *testing.T) {
		key := c.key(t, "agent_key")
		if err := sshtest.SignUserKey(c.userCA, key+".pub", "root", ""); err != nil {
			t.Fatal(err)
		}
		sock := startAgent(t)
		// ssh-add loads KEY-cert.pub with the key; the files then go.
		add := exec.Command("ssh-add", key)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil || !strings.Contains(string(out), "Certificate added") {
			t.Fatalf("ssh-add: %v: %s", err, out)
		}
		for _, f := range []string{key, key + ".pub", key + "-cert.pub"} {
			os.Remove(f)
		}
		spec := c.spec(t, "")
		spec.IdentityFiles = nil
		spec.AgentSocket = sock
		conn := dial(t, spec)
		if got := output(t, conn, "echo", "agent"); got != "agent\n" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("expired user certificate", func(t *testing.T) {
		key := c.key(t, "id_expired")
		if err := sshtest.SignUserKey(c.userCA, key+".pub", "root", "-2h:-1h"); err != nil {
			t.Fatal(err)
		}
		_, err := Dial(t.Context(), c.spec(t, key))
		if err == nil {
			t.Fatal("dial with an expired certificate succeeded")
		}
		t.Log(err)
		for _, want := range []string{"certificate file " + key + "-cert.pub", "expired at", "authenticate as root"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})

	t.Run("certificate of another key", func(t *testing.T) {
		key, other := c.key(t, "id_mine"), c.key(t, "id_other")
		if err := sshtest.SignUserKey(c.userCA, other+".pub", "root", ""); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(other+"-cert.pub", key+"-cert.pub"); err != nil {
			t.Fatal(err)
		}
		_, err := Dial(t.Context(), c.spec(t, key))
		if err == nil || !strings.Contains(err.Error(), "certificate file "+key+"-cert.pub certifies key") || !strings.Contains(err.Error(), "not the key of identity file "+key) {
			t.Fatalf("err = %v, want the mismatched certificate named", err)
		}
		t.Log(err)
	})
}

func TestHostCertificates(t *testing.T) {
	t.Parallel()
	c := newCertFleet(t)
	key := c.key(t, "id_ed25519")
	if err := sshtest.SignUserKey(c.userCA, key+".pub", "root", ""); err != nil {
		t.Fatal(err)
	}
	hostPub, err := os.ReadFile(c.h.HostKeyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	hostCAPub, err := os.ReadFile(c.hostCA + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	writeKnown := func(t *testing.T, lines ...string) string {
		p := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("signed by a trusted authority", func(t *testing.T) {
		spec := c.spec(t, key)
		for _, trust := range []string{TrustStrict, TrustAcceptNew} {
			spec.Trust = trust
			dial(t, spec).Close()
		}
		// Nothing was recorded: the authority vouches for the host.
		if data, _ := os.ReadFile(c.knownHosts); string(data) != c.caLine+"\n" {
			t.Errorf("known_hosts changed: %q", data)
		}
	})

	t.Run("revoked host key", func(t *testing.T) {
		spec := c.spec(t, key)
		spec.KnownHostsFile = writeKnown(t, c.caLine, "@revoked * "+strings.TrimSpace(string(hostPub)))
		spec.Trust = TrustAcceptNew
		_, err := Dial(t.Context(), spec)
		var hke *HostKeyError
		if !errors.As(err, &hke) || !hke.Revoked || hke.RevokedCA {
			t.Fatalf("err = %v, want a revoked host key", err)
		}
		t.Log(err)
		for _, want := range []string{"is revoked", spec.KnownHostsFile + " line 2", "ED25519 SHA256:", c.h.Name} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})

	t.Run("revoked authority", func(t *testing.T) {
		spec := c.spec(t, key)
		spec.KnownHostsFile = writeKnown(t, c.caLine, "@revoked * "+strings.TrimSpace(string(hostCAPub)))
		_, err := Dial(t.Context(), spec)
		var hke *HostKeyError
		if !errors.As(err, &hke) || !hke.RevokedCA || !strings.Contains(err.Error(), "revoked certificate authority") {
			t.Fatalf("err = %v, want a revoked authority", err)
		}
		t.Log(err)
	})

	t.Run("authority not trusted for this host", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other_ca")
		if err := sshtest.NewCA(other); err != nil {
			t.Fatal(err)
		}
		otherPub, _ := os.ReadFile(other + ".pub")
		spec := c.spec(t, key)
		spec.KnownHostsFile = writeKnown(t, fmt.Sprintf("@cert-authority [127.0.0.*]:%d %s", c.h.Port, strings.TrimSpace(string(otherPub))))
		_, err := Dial(t.Context(), spec)
		var hke *HostKeyError
		if !errors.As(err, &hke) || hke.Authority != spec.KnownHostsFile+" line 1" {
			t.Fatalf("err = %v, want the untrusted certificate refused", err)
		}
		t.Log(err)
		for _, want := range []string{"trusts a certificate authority", "no authorities", "HostCertificate"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})

	t.Run("no authority: accept-new records the plain key", func(t *testing.T) {
		spec := c.spec(t, key)
		spec.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
		_, err := Dial(t.Context(), spec)
		var hke *HostKeyError
		if !errors.As(err, &hke) || hke.Known || hke.Authority != "" || strings.Contains(err.Error(), "certificate") {
			t.Fatalf("strict: err = %v, want a plain unknown host key error", err)
		}
		spec.Trust = TrustAcceptNew
		dial(t, spec).Close()
		data, _ := os.ReadFile(spec.KnownHostsFile)
		if want := fmt.Sprintf("[%s]:%d %s", c.h.Addr, c.h.Port, strings.Join(strings.Fields(string(hostPub))[:2], " ")); strings.TrimSpace(string(data)) != want {
			t.Errorf("recorded %q, want %q", data, want)
		}
	})

	t.Run("plain key still accepted", func(t *testing.T) {
		// A host whose plain key is known is reached even though it
		// also has a certificate no authority here vouches for.
		spec := c.spec(t, key)
		spec.KnownHostsFile = writeKnown(t, fmt.Sprintf("[%s]:%d %s", c.h.Addr, c.h.Port, strings.TrimSpace(string(hostPub))))
		dial(t, spec).Close()
	})
}

// startAgent runs an ssh-agent for the test and returns its socket.
func startAgent(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("ssh-agent")
	if err != nil {
		t.Fatal("ssh-agent is needed (apt-get install openssh-client)")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command(bin, "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		if i > 500 {
			t.Fatal("ssh-agent did not create its socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
