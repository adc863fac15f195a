// Package remote runs plat commands on an admin node: the machine an
// environment's `via` names, which holds the build, the private settings
// and the release store, and pushes to the hosts itself.
//
// The pusher's side (a laptop, a CI runner) has three steps, each over
// one platform.Transport to the admin node:
//
//  1. Ensure: the admin node runs the same plat. probe.sh reports the
//     machine (uname) and the `version --json` of the binary at this
//     build's path under ~/.plat/bin; if it is missing or another build,
//     install.sh receives this executable on stdin, checks its SHA-256
//     and renames it into place (0755), so a cut upload leaves nothing
//     half-written. A release build is plat-VERSION, so ops may install it
//     themselves for pushers on another OS; any other build (dev, modified
//     work tree) is plat-VERSION-SHA256PREFIX, one file per distinct build.
//     After an upload prune.sh keeps the newest KeepBinaries of them (the
//     one just uploaded always, and any a running process executes, as
//     /proc/PID/exe shows on Linux) and removes the rest.
//  2. Run: run.sh execs that binary with the command. Cancelling the
//     context does not kill it: Run closes its stdin (or sends ^C to its
//     terminal) so the remote plat takes its own cancel path (stop the
//     rollout, switch hosts back, release the deploy lock) and exits; only
//     when it has not ended after the grace period is the session cut.
//  3. The exit code comes back as Run's result, unchanged.
//
// The admin node's side is Prepare: the app's checkout under
// ~/.plat/apps/APP/src, moved to the commit the pusher names (fetched
// from the app's git remote when missing), under a lock shared by every
// command running in it and taken exclusively only to move it.
package remote
