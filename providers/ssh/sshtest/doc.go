// Package sshtest starts real OpenSSH servers for tests: a fleet of
// /usr/sbin/sshd processes, one per host, each on its own loopback address
// (127.0.0.2, 127.0.0.3, …) and free port, with its own host key and deploy
// root directory, all accepting one ed25519 client key for root.
//
// The fleet writes what a client needs: the client key (KeyFile), a
// known_hosts with every host's key (KnownHosts), and an ssh_config with
// one alias per host (SSHConfig) that the ssh provider and the ssh command
// line tool both understand:
//
//	f := sshtest.New(t, 3)          // skips when sshd is missing (fails in CI)
//	conn, err := ssh.Dial(ctx, ssh.HostSpec{Alias: f.Hosts[0].Name, ConfigFile: f.SSHConfig})
//	// or: ssh -F f.SSHConfig host1 uname
//
// Fault tests stop and restart single hosts (Stop, Start), freeze them so
// the TCP connection stays open but nothing answers (Freeze, Thaw), or
// give a host a new key (RotateHostKey).
//
// sshd must run as root (privilege separation), which is how plat's tests
// run; the servers log errors to <Dir>/<host>/sshd.log.
package sshtest
