#!/bin/sh
# team-store.sh ROOT OP [ARG]
#
# The team's release store in a directory ROOT of this host ("~/" is
# $HOME), with the layout of plat's local store: objects/xx/HASH[.age],
# envs/ENV/ID.{json,manifest,secrets.age}. plat checks every path it
# sends and every one it reads back against that layout. Files are 0600,
# directories 0700 (umask 077).
#
#   cat REL   print the file REL
#   have      read paths on stdin, print those the store lacks
#   put       read a tar of store files on stdin and rename each into
#             place: objects first, metadata (.json) last, so a reader
#             never sees a release whose content is missing
#   get       read paths on stdin, write a tar of those it has
#   list ENV  print the release ids of ENV
#
# Exit and output:
#   0  as above
#   1  the store cannot be read or written
#   2  an unknown OP
#   3  cat: the store has no file REL
# Go: hostcmd.StoreCat, StoreHave, StorePut, StoreGet, StoreList.

set -u
umask 077
root=$1
case "$root" in \~/*) root="$HOME/${root#??}" ;; \~) root=$HOME ;; esac
op=$2

case "$op" in
cat)
  [ -f "$root/$3" ] || exit 3
  exec cat "$root/$3"
  ;;
have)
  while IFS= read -r p; do
    [ -f "$root/$p" ] || printf '%s\n' "$p"
  done
  ;;
put)
  mkdir -p "$root" || exit 1
  tmp=$(mktemp -d "$root/.put-XXXXXX") || exit 1
  trap 'rm -rf "$tmp"' EXIT
  tar -xf - -C "$tmp" || exit 1
  # tar run by root keeps the archive's modes: the store's are 0600.
  find "$tmp" -type f -exec chmod 600 {} + || exit 1
  for pass in objects meta json; do
    (cd "$tmp" && find . -type f) | while IFS= read -r f; do
      f=${f#./}
      case "$pass:$f" in
        objects:objects/*|meta:envs/*.manifest|meta:envs/*.secrets.age|json:envs/*.json) ;;
        *) continue ;;
      esac
      mkdir -p "$root/${f%/*}" && mv -f "$tmp/$f" "$root/$f" || exit 1
    done || exit 1
  done
  ;;
get)
  list=$(mktemp) || exit 1
  trap 'rm -f "$list"' EXIT
  while IFS= read -r p; do
    [ -f "$root/$p" ] && printf '%s\n' "$p"
  done > "$list"
  tar -cf - -C "$root" -T "$list"
  ;;
list)
  [ -d "$root/envs/$3" ] || exit 0
  for f in "$root/envs/$3"/r*.json; do
    [ -f "$f" ] || continue
    f=${f##*/}
    echo "${f%.json}"
  done
  ;;
*)
  echo "plat: teamstore.sh: unknown operation $op" >&2
  exit 2
  ;;
esac
