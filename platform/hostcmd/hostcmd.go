// Package hostcmd builds the commands plat runs on a target, as data: each
// function returns an argv of the form ["sh", "-c", SCRIPT, "plat", ARGS…]
// where SCRIPT is a constant and every user value travels as a positional
// argument, never spliced into shell text. The scripts need only a POSIX
// shell, coreutils, findutils, gzip, tar, sed and grep, so the same recipe runs on a
// laptop directory, an SSH host, a container or a Vagrant machine.
package hostcmd

import (
	"strconv"
	"strings"
	"time"

	"github.com/plat-sh/plat/platform"
)

func script(s string, args ...string) *platform.Command {
	return &platform.Command{Args: append([]string{"sh", "-c", s, "plat"}, args...)}
}

// stateScript prints what the host has, in sections:
//
//	current <id>|-
//	releases <id> <id> …
//	link <name> <target>      (one per releases/r* that is a symbolic link)
//	--- history
//	<lines of .plat/history>
//	--- manifest
//	<manifest of the current release>
//
// With $2 = "hash" the last section is "--- manifest-sha256" and the
// manifest's SHA-256 instead: a pusher that has the manifest in its local
// store need not read 100 bytes per file from every host.
//
// Nothing is read through a symbolic link plat did not make: a release
// name that is a link is listed as such, and the manifest is read only
// from a real release directory named by current.
const stateScript = `cd "$1" 2>/dev/null || { echo "current -"; echo "releases"; exit 0; }
cur=$(readlink current 2>/dev/null || true)
cur=${cur#releases/}
echo "current ${cur:--}"
printf 'releases'
for d in releases/r*; do [ -d "$d" ] && [ ! -L "$d" ] && printf ' %s' "${d#releases/}"; done
echo
for d in releases/r*; do [ -L "$d" ] && printf 'link %s %s\n' "${d#releases/}" "$(readlink "$d")"; done
man=
case "$cur" in
  ''|*/*|.*) ;;
  *) [ -d "releases/$cur" ] && [ ! -L "releases/$cur" ] && [ ! -L "releases/$cur/.plat" ] && [ ! -L "releases/$cur/.plat/manifest" ] && man="releases/$cur/.plat/manifest" ;;
esac
echo '--- history'
[ -L .plat/history ] || cat .plat/history 2>/dev/null || true
# A last line cut short must not swallow the next section's marker.
echo
if [ "$2" = hash ]; then
  echo '--- manifest-sha256'
  if [ -n "$man" ] && s=$(sha256sum < "$man" 2>/dev/null); then echo "${s%% *}"; fi
  exit 0
fi
echo '--- manifest'
if [ -n "$man" ]; then cat "$man" 2>/dev/null || true; fi
`

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

// prepareScript makes releases/.<id>.tmp: a hard-linked copy of the base
// release (no bytes copied), minus the paths listed NUL-separated on stdin.
const prepareScript = `set -e
cd "$1"
mkdir -p releases shared .plat
tmp="releases/.$2.tmp"
rm -rf "$tmp"
if [ -n "$3" ] && [ -d "releases/$3" ] && [ ! -L "releases/$3" ]; then
  cp -al "releases/$3" "$tmp"
  rm -rf "$tmp/.plat"
else
  mkdir "$tmp"
fi
cd "$tmp"
xargs -0 -r rm -rf --
`

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

// finishScript extracts the upload stream into the temp dir, links content
// the base has under other paths, verifies the whole tree's listing digest
// (plat checked the sent content's hashes while streaming it; SSH and
// gzip's CRC protect it on the way, so hosts do not hash it again), links shared dirs and files, then renames
// the temp dir into place. Nothing outside releases/.<id>.tmp changes until
// the final rename, so a failure leaves the host as it was. The manifest
// arrives whole or as a delta against the base's (manifest.drop,
// manifest.add and the expected manifest.sha256); sha256sums is derived
// from it.
const finishScript = `set -e
cd "$1"
dir=$1; id=$2; base=$3; want=$4; shift 4
tmp="releases/.$id.tmp"
[ -d "$tmp" ] && [ ! -L "$tmp" ] || { echo "plat: $tmp is missing (prepare did not run)" >&2; exit 1; }
for r in "$id" "$base"; do
  if [ -n "$r" ] && [ -L "releases/$r" ]; then
    echo "plat: $dir/releases/$r is a symbolic link (to $(readlink "releases/$r")), not a release plat made: remove it" >&2; rm -rf "$tmp"; exit 1
  fi
done
tar -xzpf - -C "$tmp"
cd "$tmp"
if [ ! -f .plat/manifest ] && [ -f .plat/manifest.add ]; then
  # The manifest came as a delta against the base release's.
  grep -v -x -F -f .plat/manifest.drop "../$base/.plat/manifest" | cat - .plat/manifest.add | LC_ALL=C sort -t ' ' -k 5 > .plat/manifest
  sha256sum --quiet --status -c .plat/manifest.sha256 || { echo "plat: the manifest rebuilt from $base does not match" >&2; exit 5; }
  rm -f .plat/manifest.drop .plat/manifest.add .plat/manifest.sha256
fi
sed -n 's/^[fp] [0-7]* [0-9]* \([0-9a-f]*\) /\1  .\//p' .plat/manifest > .plat/sha256sums
if [ -s .plat/links ]; then
  while IFS='	' read -r src dst; do
    mkdir -p "$(dirname "./$dst")"
    ln -f "../$base/$src" "./$dst"
  done < .plat/links
fi
got=$( { find . -path ./.plat -prune -o -type f -exec stat -c 'f %a %s %n' {} + ; find . -path ./.plat -prune -o -type l -exec stat -c 'l 777 %s %n' {} + ; } | LC_ALL=C sort | sha256sum)
got=${got%% *}
if [ "$got" != "$want" ]; then
  echo "plat: release tree does not match its manifest (listing digest $got, want $want)" >&2
  exit 4
fi
for l in "$@"; do
  kind=${l%%:*}; p=${l#*:}
  if [ "$kind" = d ]; then mkdir -p "../../shared/$p"; else mkdir -p "$(dirname "../../shared/$p")"; [ -e "../../shared/$p" ] || : > "../../shared/$p"; fi
  rm -rf "./$p"
  mkdir -p "$(dirname "./$p")"
  up=$(printf '%s' "$p" | sed 's|[^/]*|..|g')
  ln -s "$up/../shared/$p" "./$p"
done
cd ../..
if [ -d "releases/$id" ]; then rm -rf "$tmp"; else mv "$tmp" "releases/$id"; fi
`

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

// switchScript points current at releases/<id> atomically: a symlink under
// a temp name, then rename(2) over current (mv -T), never ln -sfn. It
// prints the release current pointed at before.
const switchScript = `set -e
cd "$1"
[ -d "releases/$2" ] || { echo "plat: releases/$2 does not exist" >&2; exit 1; }
if [ -L "releases/$2" ]; then
  echo "plat: $1/releases/$2 is a symbolic link (to $(readlink "releases/$2")), not a release plat made: refusing to switch to it" >&2; exit 1
fi
prev=$(readlink current 2>/dev/null || true)
rm -f .plat/current.tmp
ln -s "releases/$2" .plat/current.tmp
mv -T .plat/current.tmp current
echo "${prev#releases/}"
`

// Switch makes releases/<id> current; stdout is the previous release id.
func Switch(deployTo, id string) *platform.Command { return script(switchScript, deployTo, id) }

// unswitchScript removes current when it names releases/$2: a host whose
// first release failed its health gate goes back to having none (the
// release directory stays).
const unswitchScript = `cd "$1" 2>/dev/null || exit 0
[ "$(readlink current 2>/dev/null)" = "releases/$2" ] && rm -f current
exit 0
`

// Unswitch makes a host whose current release is id have none again.
func Unswitch(deployTo, id string) *platform.Command { return script(unswitchScript, deployTo, id) }

// recordScript appends to revisions.log (Capistrano's wording) and to
// plat's structured history, and writes REVISION-independent bookkeeping.
const recordScript = `set -e
cd "$1"
mkdir -p .plat
for f in revisions.log .plat/history; do
  if [ -L "$f" ]; then echo "plat: $1/$f is a symbolic link (to $(readlink "$f")): refusing to write through it" >&2; exit 1; fi
  # A last line cut short (a full disk, a killed writer) stays a line of
  # its own: the new record is not glued to it.
  if [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ]; then echo >> "$f"; fi
done
printf '%s\n' "$2" >> revisions.log
printf '%s\n' "$3" >> .plat/history
`

// Record appends a revisions.log line and a history line.
func Record(deployTo, revisionsLine, historyLine string) *platform.Command {
	return script(recordScript, deployTo, revisionsLine, historyLine)
}

// pruneScript removes old releases, keeping the newest $2 and always the
// current and the previous ones ($3, $4).
const pruneScript = `cd "$1" || exit 0
keep=$2; cur=$3; prev=$4
ls -1 releases 2>/dev/null | grep '^r[0-9][0-9]*$' | sed 's/^r//' | sort -rn | sed 's/^/r/' | {
  n=0
  while read -r id; do
    [ -L "releases/$id" ] && continue
    n=$((n+1))
    if [ "$n" -le "$keep" ] || [ "$id" = "$cur" ] || [ "$id" = "$prev" ]; then continue; fi
    rm -rf "releases/$id" && echo "$id"
  done
}
rm -rf releases/.*.tmp 2>/dev/null || true
`

// Prune removes releases beyond keep; stdout lists the removed ids.
func Prune(deployTo string, keep int, current, previous string) *platform.Command {
	return script(pruneScript, deployTo, strconv.Itoa(keep), current, previous)
}

// verifyScript checks the current release against its manifest: hashes of
// every file (sha256sum -c prints FAILED lines) and the tree's listing.
const verifyScript = `cd "$1" || exit 2
cur=$(readlink current 2>/dev/null) || { echo "plat: no current release" >&2; exit 2; }
case "${cur#releases/}" in
  */*|.*|'') echo "plat: $1/current points to $cur, not to a release in releases/" >&2; exit 2 ;;
esac
case "$cur" in releases/*) ;; *) echo "plat: $1/current points to $cur, not to a release in releases/" >&2; exit 2 ;; esac
[ -L "$cur" ] && { echo "plat: $1/$cur is a symbolic link (to $(readlink "$cur")), not a release plat made" >&2; exit 2; }
cd "$cur" || exit 2
echo '--- failed'
sha256sum -c --quiet .plat/sha256sums 2>/dev/null || true
echo '--- listing'
{ find . -path ./.plat -prune -o -type f -exec stat -c 'f %a %s %n' {} + ; find . -path ./.plat -prune -o -type l -exec stat -c 'l 777 %s %n' {} + ; } | LC_ALL=C sort
`

// Verify prints sha256sum failures and the current tree's listing.
func Verify(deployTo string) *platform.Command { return script(verifyScript, deployTo) }

// lockScript takes the environment's deploy lock on this host. The lock is
// a directory (mkdir is atomic) holding an info file with key=value lines;
// an expired lease may be taken over. Exit 3 with the info on stdout when
// someone else holds it.
//
// A deploy_to belongs to one app: with $5 set, the first lock writes the
// app's name to .plat/app (O_EXCL, so two first pushes cannot both claim
// it), and a lock for another app exits 4 with "owner" and the owner's
// name, before the lock or anything else changes.
//
// A lock whose info has no readable expiry (garbage, or a holder killed
// between its mkdir and writing the info) expires a lease after the info
// file (or the lock dir) last changed; taking it over prints "acquired
// unreadable". A .plat that is a symbolic link is refused (exit 1): plat
// writes nothing outside deploy_to.
const lockScript = `set -e
cd "$1" 2>/dev/null || { mkdir -p "$1"; cd "$1"; }
if [ -L .plat ]; then echo "plat: $1/.plat is a symbolic link (to $(readlink .plat)): refusing to write through it" >&2; exit 1; fi
mkdir -p .plat
token=$2; lease=$3; info=$4; app=$5
if [ -n "$app" ]; then
  ( set -C; printf '%s\n' "$app" > .plat/app ) 2>/dev/null || true
  owner=$(cat .plat/app 2>/dev/null || true)
  if [ "$owner" != "$app" ]; then echo owner; printf '%s\n' "$owner"; exit 4; fi
fi
now=$(date +%s)
write() { printf '%s\nexpires=%s\ntoken=%s\n' "$info" "$((now + lease))" "$token" > .plat/lock/info.tmp && mv .plat/lock/info.tmp .plat/lock/info; }
if mkdir .plat/lock 2>/dev/null; then write; echo acquired; exit 0; fi
held=$(cat .plat/lock/info 2>/dev/null || true)
case "$held" in *"token=$token"*) write; echo acquired; exit 0;; esac
exp=$(printf '%s\n' "$held" | sed -n 's/^expires=//p')
how=stale
case "$exp" in
  ''|*[!0-9]*)
    how=unreadable
    changed=$(stat -c %Y .plat/lock/info 2>/dev/null || stat -c %Y .plat/lock 2>/dev/null || echo "$now")
    exp=$((changed + lease)) ;;
esac
if [ "$exp" -lt "$now" ]; then
  rm -rf .plat/lock.stale; mv .plat/lock .plat/lock.stale 2>/dev/null || true
  if mkdir .plat/lock 2>/dev/null; then rm -rf .plat/lock.stale; write; echo "acquired $how"; [ "$how" = unreadable ] || printf '%s\n' "$held"; exit 0; fi
  held=$(cat .plat/lock/info 2>/dev/null || true)
fi
echo held
printf '%s\n' "$held"
exit 3
`

// Lock takes app's deploy lock for lease seconds; info is key=value lines.
// Exit 3: held by someone else; exit 4: deploy_to belongs to another app
// (ParseOwner reads its name).
func Lock(deployTo, app, token string, lease time.Duration, info string) *platform.Command {
	return script(lockScript, deployTo, token, strconv.Itoa(int(lease.Seconds())), info, app)
}

// ownerScript exits 4 with the owner's name when deploy_to belongs to
// another app than $2 (a deploy_to nobody claimed yet is not refused).
const ownerScript = `cd "$1" 2>/dev/null || exit 0
owner=$(cat .plat/app 2>/dev/null) || exit 0
[ "$owner" = "$2" ] && exit 0
echo owner
printf '%s\n' "$owner"
exit 4
`

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

// unlockScript removes the lock if token holds it (or always, when token is
// empty: plat lock break). It prints the info of the lock it removed.
const unlockScript = `cd "$1" 2>/dev/null || exit 0
[ -d .plat/lock ] || exit 0
held=$(cat .plat/lock/info 2>/dev/null || true)
if [ -n "$2" ]; then case "$held" in *"token=$2"*) ;; *) exit 0;; esac; fi
rm -rf .plat/lock
printf '%s\n' "$held"
`

// Unlock releases the lock held with token; an empty token breaks any lock.
func Unlock(deployTo, token string) *platform.Command {
	return script(unlockScript, deployTo, token)
}

// lockInfoScript prints the lock's info (empty when unlocked) and the
// host's clock.
const lockInfoScript = `cd "$1" 2>/dev/null || { echo "now=$(date +%s)"; exit 0; }
echo "now=$(date +%s)"
cat .plat/lock/info 2>/dev/null || true
`

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

// journalScript appends one line to the host's push journal.
const journalScript = `mkdir -p "$1/.plat" && printf '%s\n' "$2" >> "$1/.plat/journal"`

// Journal records a step of a push on the host.
func Journal(deployTo, line string) *platform.Command { return script(journalScript, deployTo, line) }

// readJournalScript prints the journal lines of one push.
const readJournalScript = `grep -F -- "$2 " "$1/.plat/journal" 2>/dev/null || true`

// ReadJournal prints the journal lines that start with pushID.
func ReadJournal(deployTo, pushID string) *platform.Command {
	return script(readJournalScript, deployTo, pushID)
}
