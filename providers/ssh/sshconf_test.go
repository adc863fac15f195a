package ssh

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConfigMatchesOpenSSH resolves every host of the corpus in
// testdata/sshconfig with plat and with OpenSSH's `ssh -G -F FILE HOST`,
// and compares the options plat uses.
func TestConfigMatchesOpenSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatal("the OpenSSH client is needed (apt-get install openssh-client)")
	}
	// ssh takes ~ from the passwd entry; plat from $HOME. They agree here.
	home := userHome()
	t.Setenv("PLAT_TEST_AGENT", "/run/plat-test-agent.sock")
	t.Setenv("SSH_AUTH_SOCK", "/run/plat-test-auth.sock")

	// Relative Includes are in ~/.ssh: the included files go to a fresh
	// directory there, removed afterwards.
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	incAbs, err := os.MkdirTemp(filepath.Join(home, ".ssh"), "plat-sshconf-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(incAbs) })
	incDir := filepath.Base(incAbs)
	for _, n := range []string{"inc1.conf", "glob-a.conf", "glob-b.conf"} {
		data, err := os.ReadFile(filepath.Join("testdata/sshconfig", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(incAbs, n), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	compared := 0
	for _, name := range []string{"fleet.conf", "match.conf", "include.conf"} {
		data, err := os.ReadFile(filepath.Join("testdata/sshconfig", name))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "{{INCDIR}}", incDir)
		file := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(text, "\n")
		hosts := strings.Fields(strings.TrimPrefix(first, "# hosts:"))
		cfg, err := loadSSHConfig(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, host := range hosts {
			t.Run(name+"/"+host, func(t *testing.T) {
				want := openSSHConfig(t, file, host)
				e, err := resolve(HostSpec{Alias: host, ConfigFile: file}, cfg)
				if err != nil {
					t.Fatal(err)
				}
				check := func(field, got, want string) {
					t.Helper()
					if got != want {
						t.Errorf("%s: plat %q, ssh -G %q", field, got, want)
					}
				}
				check("hostname", e.hostname, want.one("hostname"))
				check("user", e.user, want.one("user"))
				check("port", strconv.Itoa(e.port), want.one("port"))
				check("hostkeyalias", e.hostKeyAlias, want.one("hostkeyalias"))
				check("proxyjump", strings.Join(e.jumps, ","), want.one("proxyjump"))
				check("proxycommand", e.proxyCommand, want.one("proxycommand"))
				check("serveralivecountmax", strconv.Itoa(e.keepAliveMax), want.one("serveralivecountmax"))

				// ssh -G prints IdentityFile and CertificateFile before
				// token and ~ expansion; expand them with what it resolved.
				tv := tokenValues{host: want.one("hostname"), original: host, ruser: want.one("user"), hostKeyAlias: want.one("hostkeyalias")}
				tv.port, _ = strconv.Atoi(want.one("port"))
				expand := func(fs []string) []string {
					var out []string
					for _, f := range fs {
						out = append(out, expandEnv(expandHome(expandTokens(f, tv))))
					}
					return out
				}
				var ids []string
				for _, id := range e.identities {
					ids = append(ids, id.path)
				}
				wantIDs := expand(want.all("identityfile"))
				if e.defaultIdentities {
					// plat tries the usual key types of OpenSSH's defaults.
					for _, id := range ids {
						if !slices.Contains(wantIDs, id) {
							t.Errorf("default identity %s is not one of ssh -G's %q", id, wantIDs)
						}
					}
				} else {
					check("identityfile", strings.Join(ids, " "), strings.Join(wantIDs, " "))
				}
				check("certificatefile", strings.Join(e.certificates, " "), strings.Join(expand(want.all("certificatefile")), " "))

				agent := want.one("identityagent")
				switch {
				case agent == "" || agent == "SSH_AUTH_SOCK":
					agent = os.Getenv("SSH_AUTH_SOCK")
				case agent == "none":
					agent = ""
				case strings.HasPrefix(agent, "$"):
					agent = os.Getenv(agent[1:])
				}
				check("identityagent", e.agent, agent)

				kh := strings.Join(e.knownHosts, " ")
				check("known hosts", kh, want.one("userknownhostsfile")+" "+want.one("globalknownhostsfile"))

				wantTrust := TrustStrict
				if want.one("stricthostkeychecking") == "accept-new" {
					wantTrust = TrustAcceptNew
				}
				check("stricthostkeychecking", e.trust, wantTrust)

				wantCT := DefaultConnectTimeout
				if s := want.one("connecttimeout"); s != "none" {
					n, _ := strconv.Atoi(s)
					wantCT = time.Duration(n) * time.Second
				}
				check("connecttimeout", e.connectTimeout.String(), wantCT.String())
				wantKA := DefaultKeepAlive
				if n, _ := strconv.Atoi(want.one("serveraliveinterval")); n > 0 {
					wantKA = time.Duration(n) * time.Second
				}
				check("serveraliveinterval", e.keepAlive.String(), wantKA.String())
				if e.hostKeyAlgorithms != nil {
					check("hostkeyalgorithms", strings.Join(e.hostKeyAlgorithms, ","), want.one("hostkeyalgorithms"))
				}

				// plat ssh-config prints the same as ssh -G for the keys
				// both resolve alike.
				r, err := resolveSpec(HostSpec{Alias: host, ConfigFile: file})
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				if err := r.WriteSSHConfig(&out); err != nil {
					t.Fatal(err)
				}
				shown := sshG{}
				for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
					k, v, _ := strings.Cut(line, " ")
					shown[k] = append(shown[k], v)
				}
				for _, k := range []string{"host", "hostname", "port", "user", "proxyjump", "proxycommand", "hostkeyalias",
					"serveralivecountmax", "userknownhostsfile", "globalknownhostsfile", "identitiesonly", "hashknownhosts"} {
					if !slices.Equal(shown[k], want[k]) {
						t.Errorf("plat ssh-config %s %q, ssh -G %q", k, shown[k], want[k])
					}
				}
				if got, w := shown["certificatefile"], expand(want.all("certificatefile")); !slices.Equal(got, w) {
					t.Errorf("plat ssh-config certificatefile %q, ssh -G %q (expanded)", got, w)
				}
			})
			compared++
		}
	}
	if compared < 15 {
		t.Fatalf("compared only %d hosts", compared)
	}
}

type sshG map[string][]string

func (g sshG) one(k string) string {
	if v := g[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (g sshG) all(k string) []string { return g[k] }

func openSSHConfig(t *testing.T, file, host string) sshG {
	t.Helper()
	cmd := exec.Command("ssh", "-G", "-F", file, host)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ssh -G -F %s %s: %v: %s", file, host, err, stderr.String())
	}
	g := sshG{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		g[k] = append(g[k], v)
	}
	return g
}

func TestConfigParsing(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		p := filepath.Join(dir, strconv.Itoa(len(text)))
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, bad := range []struct{ text, want string }{
		{"Match\n", "Match without a criterion"},
		{"Match host\n", "Match host needs an argument"},
		{"Match localnetwork 10.0.0.0/8\n", "Match localnetwork is not a criterion"},
		{"Match all host x\n", "Match all goes alone"},
		{"Host\n", "Host without a pattern"},
		{"Host x\n  User \"unterminated\n", "unterminated quote"},
	} {
		p := write(bad.text)
		_, err := loadSSHConfig(p)
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: err = %v, want %q naming the file", bad.text, err, bad.want)
		}
	}

	args, err := splitArgs(`a "b c" 'd e' f\ g # comment`)
	if err != nil || !slices.Equal(args, []string{"a", "b c", "d e", "f g"}) {
		t.Errorf("splitArgs = %q, %v", args, err)
	}
	for _, c := range []struct {
		p, s string
		want bool
	}{{"*", "x", true}, {"web?", "web1", true}, {"web?", "web10", false}, {"*.internal", "db.internal", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXbY", false}} {
		if wildMatch(c.p, c.s) != c.want {
			t.Errorf("wildMatch(%q, %q) != %v", c.p, c.s, c.want)
		}
	}
	if matchList("web*,!web9", "web9", true) || !matchList("web*,!web9", "web1", true) {
		t.Error("matchList negation")
	}
	if got := expandTokens("%h:%p %r %n %%h %k", tokenValues{host: "h", original: "o", ruser: "r", port: 2}); got != "h:2 r o %h o" {
		t.Errorf("expandTokens = %q", got)
	}

	// A Match exec that cannot run is a failed match, not a broken config.
	p := write("Match exec \"exit 3\"\n  Port 1\nMatch exec \"test %h = x\"\n  Port 2\n")
	cfg, err := loadSSHConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	e, err := resolve(HostSpec{Alias: "x", ConfigFile: p}, cfg)
	if err != nil || e.port != 2 {
		t.Errorf("Match exec: port %v, err %v", e, err)
	}
}
