// Package ssh is plat's SSH provider and transport.
//
// Dial opens one SSH connection to a host (through ProxyJump hops when
// ~/.ssh/config asks for them) and returns a *Conn, which implements
// platform.Transport (many concurrent commands, each in its own session on
// the one connection) and platform.Dialer (TCP connections as seen from the
// host, over direct-tcpip channels).
//
// What OpenSSH users expect is honoured, evaluated as OpenSSH's client does
// (sshconf.go; tests compare with `ssh -G` over a corpus of configs): Host
// and Match blocks (host after HostName substitution, originalhost, user,
// localuser, exec, all, canonical, final, negation), Include (relative to
// ~/.ssh, or /etc/ssh for the system file), HostName, User, Port,
// IdentityFile, CertificateFile, IdentityAgent, IdentitiesOnly, ProxyJump,
// ProxyCommand (run with sh -c, tokens expanded, killed on close),
// UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias, HostKeyAlgorithms,
// HashKnownHosts, ServerAliveInterval, ServerAliveCountMax, ConnectTimeout,
// StrictHostKeyChecking accept-new; keys from ssh-agent and identity
// files, and known_hosts. Host keys are always verified: an unknown host is
// refused unless trust is "accept-new" (then its key is recorded), a
// changed key is always refused. Not supported: DNS canonicalization with
// CanonicalDomains, Match localnetwork/tagged, password or
// keyboard-interactive authentication.
//
// Commands are argv, quoted once (shellquote) into a command line for the
// login shell, which must be a POSIX shell (sh, bash, dash, zsh, ksh):
// Dir becomes `cd -- DIR &&`, Env an `env K=V` prefix (sshd's AcceptEnv
// would drop SetEnv requests), Become a `sudo -n -u USER --` prefix. The
// command line first reports the shell's pid on stderr (stripped before the
// caller sees stderr) so a cancelled command's process group can be killed
// even where sshd ignores signal requests (root logins, sudo).
//
// A Conn sends keepalives (by default every 15s, given up after 3
// unanswered: plat bounds a hung host even where OpenSSH would not); a
// peer that stops answering, or a connection that drops, fails every
// running and later command with an error wrapping ErrConnectionLost
// (platform.ErrConnectionLost), never a *platform.ExitError.
//
// Factory is the "ssh" provider: it turns every host of an environment into
// a platform.Target with a connected *Conn, dialling hosts in parallel.
//
// The sshtest subpackage starts real OpenSSH servers on loopback addresses
// for tests.
package ssh
