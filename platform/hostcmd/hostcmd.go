// Package hostcmd builds the commands plat runs on a target, as data: each
// function returns an argv of the form ["sh", "-c", SCRIPT, "plat", ARGS…]
// where SCRIPT is one of the files in scripts/ (see scripts.go) and every
// user value travels as a positional argument, never spliced into shell
// text. The scripts need only a POSIX shell, coreutils, findutils, gzip,
// tar, sed and grep, so the same recipe runs on a laptop directory, an SSH
// host, a container or a Vagrant machine.
package hostcmd

import (
	"strconv"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
)

// stateScript is scripts/state.sh; its header documents it.
var stateScript = load("state.sh")

// State reads the host's current release, its releases, history and the
// current manifest.
func State(deployTo string) *platform.Command { return script(stateScript, deployTo) }

// StateSummary is State with the manifest's SHA-256 in place of the
// manifest (HostState.ManifestSHA256).
func StateSummary(deployTo string) *platform.Command { return script(stateScript, deployTo, "hash") }

// HostState is State's output, parsed.
type HostState struct {
	Current  string
	Releases []string
	// Links maps each releases/r* that is a symbolic link to its target.
	Links    map[string]string
	History  []string
	Manifest string
	// ManifestSHA256 is set by StateSummary's output.
	ManifestSHA256 string
}

// ParseState parses State's output.
func ParseState(out string) HostState {
	var st HostState
	section := ""
	var hist []string
	var man strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		l := strings.TrimSuffix(line, "\n")
		switch {
		case l == "--- history":
			section = "history"
			continue
		case l == "--- manifest":
			section = "manifest"
			continue
		case l == "--- manifest-sha256":
			section = "manifest-sha256"
			continue
		}
		switch section {
		case "":
			if v, ok := strings.CutPrefix(l, "current "); ok && v != "-" {
				st.Current = v
			}
			if v, ok := strings.CutPrefix(l, "releases"); ok {
				st.Releases = strings.Fields(v)
			}
			if v, ok := strings.CutPrefix(l, "link "); ok {
				name, target, _ := strings.Cut(v, " ")
				if st.Links == nil {
					st.Links = map[string]string{}
				}
				st.Links[name] = target
			}
		case "history":
			if l != "" {
				hist = append(hist, l)
			}
		case "manifest":
			man.WriteString(line)
		case "manifest-sha256":
			if l != "" {
				st.ManifestSHA256 = l
			}
		}
	}
	st.History = hist
	st.Manifest = man.String()
	return st
}

// prepareScript is scripts/prepare.sh; its header documents it.
var prepareScript = load("prepare.sh")

// Prepare starts a new release dir from base; stdin carries the paths to
// remove, NUL-separated (see RemoveList).
func Prepare(deployTo, id, base string) *platform.Command {
	return script(prepareScript, deployTo, id, base)
}

// RemoveList encodes paths for Prepare's stdin.
func RemoveList(paths []string) string {
	var b strings.Builder
	for _, p := range paths {
		b.WriteString(p)
		b.WriteByte(0)
	}
	return b.String()
}

// finishScript is scripts/finish.sh; its header documents it.
var finishScript = load("finish.sh")

// Finish extracts the stream (stdin) and installs releases/<id>. digest is
// the SHA-256 of the manifest's Listing; linked are "d:path" or "f:path"
// shared links. It exits with ExitTreeMismatch when the tree built from
// the base release does not match the manifest (the base drifted).
func Finish(deployTo, id, base, digest string, linked []string) *platform.Command {
	return script(finishScript, append([]string{deployTo, id, base, digest}, linked...)...)
}

// ExitTreeMismatch is Finish's exit code for a release tree whose listing
// does not match the manifest.
const ExitTreeMismatch = 4

// ExitManifestMismatch is Finish's exit code when the manifest rebuilt
// from the base release's and a delta does not have the expected hash.
const ExitManifestMismatch = 5

// Linked returns Finish's shared-link arguments.
func Linked(dirs, files []string) []string {
	var out []string
	for _, d := range dirs {
		out = append(out, "d:"+strings.Trim(d, "/"))
	}
	for _, f := range files {
		out = append(out, "f:"+strings.Trim(f, "/"))
	}
	return out
}

// switchScript is scripts/switch.sh; its header documents it.
var switchScript = load("switch.sh")

// Switch makes releases/<id> current; stdout is the previous release id.
func Switch(deployTo, id string) *platform.Command { return script(switchScript, deployTo, id) }

// unswitchScript is scripts/unswitch.sh; its header documents it.
var unswitchScript = load("unswitch.sh")

// Unswitch makes a host whose current release is id have none again.
func Unswitch(deployTo, id string) *platform.Command { return script(unswitchScript, deployTo, id) }

// recordScript is scripts/record.sh; its header documents it.
var recordScript = load("record.sh")

// Record appends a revisions.log line and a history line.
func Record(deployTo, revisionsLine, historyLine string) *platform.Command {
	return script(recordScript, deployTo, revisionsLine, historyLine)
}

// pruneScript is scripts/prune.sh; its header documents it.
var pruneScript = load("prune.sh")

// Prune removes releases beyond keep; stdout lists the removed ids.
func Prune(deployTo string, keep int, current, previous string) *platform.Command {
	return script(pruneScript, deployTo, strconv.Itoa(keep), current, previous)
}

// verifyScript is scripts/verify.sh; its header documents it.
var verifyScript = load("verify.sh")

// Verify prints sha256sum failures and the current tree's listing.
func Verify(deployTo string) *platform.Command { return script(verifyScript, deployTo) }

// lockScript is scripts/lock.sh; its header documents it.
var lockScript = load("lock.sh")

// Lock takes app's deploy lock for lease seconds; info is key=value lines.
// Exit 3: held by someone else; exit 4: deploy_to belongs to another app
// (ParseOwner reads its name).
func Lock(deployTo, app, token string, lease time.Duration, info string) *platform.Command {
	return script(lockScript, deployTo, token, strconv.Itoa(int(lease.Seconds())), info, app)
}

// ownerScript is scripts/owner.sh; its header documents it.
var ownerScript = load("owner.sh")

// CheckOwner checks that deploy_to is app's, for commands that change a
// host without the deploy lock (down, start, stop).
func CheckOwner(deployTo, app string) *platform.Command {
	return script(ownerScript, deployTo, app)
}

// ParseOwner returns the owner named by Lock's or CheckOwner's output
// after exit 4.
func ParseOwner(out string) string {
	_, rest, _ := strings.Cut(out, "owner\n")
	return strings.TrimSpace(rest)
}

// unlockScript is scripts/unlock.sh; its header documents it.
var unlockScript = load("unlock.sh")

// Unlock releases the lock held with token; an empty token breaks any lock.
func Unlock(deployTo, token string) *platform.Command {
	return script(unlockScript, deployTo, token)
}

// lockInfoScript is scripts/lock-info.sh; its header documents it.
var lockInfoScript = load("lock-info.sh")

// LockInfo reads the lock.
func LockInfo(deployTo string) *platform.Command { return script(lockInfoScript, deployTo) }

// ParseKV parses key=value lines.
func ParseKV(s string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// journalScript is scripts/journal.sh; its header documents it.
var journalScript = load("journal.sh")

// Journal records a step of a push on the host.
func Journal(deployTo, line string) *platform.Command { return script(journalScript, deployTo, line) }

// readJournalScript is scripts/read-journal.sh; its header documents it.
var readJournalScript = load("read-journal.sh")

// ReadJournal prints the journal lines that start with pushID.
func ReadJournal(deployTo, pushID string) *platform.Command {
	return script(readJournalScript, deployTo, pushID)
}
