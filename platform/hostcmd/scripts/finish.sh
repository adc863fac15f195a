#!/bin/sh
# finish.sh DEPLOY_TO ID BASE DIGEST [d:PATH|f:PATH …]   (stdin: gzip tar)
#
# Extracts the upload stream into releases/.ID.tmp (made by prepare.sh),
# rebuilds .plat/manifest from a delta against BASE's when it came as
# manifest.drop + manifest.add (checked against manifest.sha256), derives
# .plat/sha256sums, hard-links content BASE has under other paths
# (.plat/links: "SRC<TAB>DST" lines), and compares the SHA-256 of the
# tree's listing (the pipeline of listing.sh) with DIGEST. Then each
# d:PATH / f:PATH becomes a symbolic link to DEPLOY_TO/shared/PATH (made
# if missing), and the temp dir is renamed to releases/ID. Nothing outside
# the temp dir changes before that rename.
#
# Exit: 0 installed (or releases/ID was already there); 1 no temp dir, or
# ID or BASE is a symbolic link; 4 the tree's listing digest is not DIGEST
# (hostcmd.ExitTreeMismatch); 5 the rebuilt manifest has the wrong hash
# (hostcmd.ExitManifestMismatch); other non-zero from tar and friends.
# Output: diagnostics on stderr only.
# Go: hostcmd.Finish, hostcmd.Linked.

set -e
cd "$1"
dir=$1; id=$2; base=$3; want=$4; shift 4
tmp="releases/.$id.tmp"
if [ ! -d "$tmp" ] || [ -L "$tmp" ]; then echo "plat: $tmp is missing (prepare did not run)" >&2; exit 1; fi
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
