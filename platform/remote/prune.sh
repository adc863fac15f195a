# shellcheck shell=sh
# Remove old plat binaries from an admin node (platform/remote), after an
# upload: $1 is the binary just installed, relative to $HOME, and $2 how
# many plat-* files its directory keeps, newest (modification time)
# first. The one just installed is always kept, and so is any binary a
# running process executes (where /proc/PID/exe says so: Linux), even if
# older: removing it would not stop that process, but a pusher that has
# just found it there is about to run it. Prints each name it removes.
set -eu
keep="$HOME/$1"
cd "${keep%/*}"
dir=$(pwd -P)
keep="$dir/${keep##*/}"
# The executables of the processes this login may see, one per line.
running=""
for exe in /proc/[0-9]*/exe; do
  t=$(readlink "$exe" 2>/dev/null) || continue
  running="$running
$t"
done
n=0
# plat names its binaries with [A-Za-z0-9._-] only, so the words ls
# prints are the names; ls -t is the portable way to sort by mtime.
# shellcheck disable=SC2012,SC2045
for f in $(ls -t -- plat-* 2>/dev/null); do
  [ -f "$f" ] || continue
  n=$((n + 1))
  path="$dir/$f"
  if [ "$n" -le "$2" ] || [ "$path" = "$keep" ]; then
    continue
  fi
  case "$running
" in
    *"
$path
"*) continue ;;
  esac
  rm -f -- "$path"
  echo "$f"
done
