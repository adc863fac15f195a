# shellcheck shell=sh
# teamstore.sh: the team's release store in a directory on a host (the
# layout of plat's local store: objects/xx/HASH[.age], envs/ENV/ID.*).
#
#   $1 store directory ("~/" is $HOME)   $2 operation   $3 argument
#
#   cat REL   print the file REL; exit 3 when there is none
#   have      read paths on stdin, print those the store lacks
#   put       read a tar of store files on stdin and move each into
#             place by rename: objects first, metadata (.json) last, so
#             a reader never sees a release whose content is missing
#   get       read paths on stdin, write a tar of those it has
#   list ENV  print the release ids of ENV
#
# plat checks every path it sends and every one it reads back against
# the layout; files are 0600 and directories 0700 (umask 077).
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
