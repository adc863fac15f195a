#!/bin/sh
# verify.sh DEPLOY_TO
#
# Checks the current release against its manifest: the SHA-256 of every
# file (sha256sum -c against .plat/sha256sums) and the tree's listing.
#
# Exit: 0 checked (drift or not: plat compares the output); 2 no current
# release, or current does not name a real directory in releases/.
# Output:
#   --- failed
#   <sha256sum's "PATH: FAILED" lines>
#   --- listing
#   <the tree's listing, as listing.sh prints it>
# Go: hostcmd.Verify.

cd "$1" || exit 2
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
