#!/bin/sh
# prune.sh DEPLOY_TO KEEP CURRENT PREVIOUS
#
# Removes old releases: of the real directories releases/r<N> (symbolic
# links are skipped, never counted or removed), the newest KEEP stay, and
# always CURRENT and PREVIOUS. Leftover releases/.*.tmp dirs go too.
#
# Exit: 0 (also when DEPLOY_TO is missing).
# Output: one removed release id per line.
# Go: hostcmd.Prune.

cd "$1" || exit 0
keep=$2; cur=$3; prev=$4
for d in releases/r*; do
  n=${d#releases/r}
  case $n in ''|*[!0-9]*) continue ;; esac
  echo "$n"
done | sort -rn | sed 's/^/r/' | {
  n=0
  while read -r id; do
    [ -L "releases/$id" ] && continue
    n=$((n+1))
    if [ "$n" -le "$keep" ] || [ "$id" = "$cur" ] || [ "$id" = "$prev" ]; then continue; fi
    rm -rf "releases/$id" && echo "$id"
  done
}
rm -rf releases/.*.tmp 2>/dev/null || true
