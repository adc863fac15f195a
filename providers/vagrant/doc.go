// Package vagrant is plat's "vagrant" provider: it drives Vagrant from the
// environment model, so a developer's prod-like topology of Vagrant
// machines receives releases through the same recipe and the same SSH
// transport as production hosts.
//
// # Vagrantfile
//
// By default the provider generates a multi-machine Vagrantfile, one
// machine per host of the environment's clusters (names kept, roles as
// comments and docker labels), under <StateDir>/vagrant/<env>, which is
// also VAGRANT_CWD and holds Vagrant's .vagrant state. The file is a pure
// function of the provider block and the hosts, rewritten only when it
// changes. With the docker provider (the default) machines run
// DefaultImage, built locally FROM BaseImage with the docker CLI on first
// use (a vagrant user with passwordless sudo, sshd, per-container host keys
// generated at first start). With `vagrantfile = "path"` the user's own
// Vagrantfile is used instead: Vagrant runs in its directory and keeps its
// state there, so `vagrant status` by hand sees the same machines; the
// environment's hosts (or, when it declares none, all the Vagrantfile's
// machines) are its machines.
//
// # Commands
//
// Up runs `vagrant up --parallel` (Vagrant itself serialises providers
// that cannot go parallel, such as VirtualBox), Down `vagrant halt` or
// `vagrant destroy -f`, Machines `vagrant status`; all with
// --machine-readable, whose records (timestamp,target,type,data with
// %!(VAGRANT_COMMA), \n and \r escapes) are parsed by ParseRecord. Vagrant's
// ui records become per-machine Progress lines; a failed command is an
// *Error carrying Vagrant's error-exit message. A missing vagrant program is
// ErrNotInstalled.
//
// # SSH and host keys
//
// Targets reads `vagrant ssh-config` (ParseSSHConfig: several machines,
// quoted paths) and dials each machine with the ssh provider's transport.
// The generated Vagrantfile makes machines trust a key pair plat generates
// per environment (<StateDir>/vagrant/<env>/id_ed25519, 0600), never
// Vagrant's shared insecure key. Host keys are verified against a
// known_hosts file plat keeps per environment, recorded under the machine's
// name (HostKeyAlias), not under the forwarded port another machine may get
// later. Vagrant's own ssh-config turns host key checking off; plat does
// not. An unknown key is accepted on first use only for machines plat
// brought up itself (recorded by Up) or that Vagrant reaches on a loopback
// address: these are machines on this computer that plat or Vagrant just
// created, so there is no network between plat and the machine for an
// attacker to sit on, and the first key seen is the machine's own. A key
// that changes later is refused like anywhere else; only when Up
// (re)creates a machine is the old entry of that name dropped, because the
// machine behind the name is then new by construction. For remote Vagrant
// providers (cloud VMs reached over a network) that first use is the usual
// trust-on-first-use; pre-seed the known_hosts file to avoid it.
//
// Each target is platform.NewTarget of the resolved host: DeployTo (the
// host's deploy_to, else /srv/<app>; created for the login user with sudo
// when it cannot create it itself), Port (the host's, the app's health
// port, else platform.DefaultWebPort) and HealthAddr 127.0.0.1:<port>,
// dialled through the SSH connection.
//
// # Docker 20.10 and Vagrant 2.3.4
//
// Debian's Vagrant 2.3.4 works with Docker Engine 20.10 without
// workarounds. Things to know: the docker provider forwards each machine's
// port 22 to 127.0.0.1:2222 by default (then 2200, 2201, ... on
// collision), a check that races under `up --parallel` (two machines may
// both pick 2222 and one fails to start), so the generated file gives each
// machine its own port, derived from its container name; and it
// mounts the project directory at /vagrant unless disabled, which the
// generated file does (plat pushes over SSH). A `vagrant up` whose
// `docker run` fails leaves the machine in the pseudo-state "preparing"
// until the next up; Machines passes that state through.
package vagrant
