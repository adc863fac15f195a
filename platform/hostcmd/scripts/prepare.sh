#!/bin/sh
# prepare.sh DEPLOY_TO ID BASE   (stdin: paths to remove, NUL-separated)
#
# Makes DEPLOY_TO/releases/.ID.tmp: a hard-linked copy of releases/BASE
# (no bytes copied; BASE's .plat is dropped, so its secrets and manifest
# never reach the new release), then removes the paths read from stdin
# inside it. An empty BASE, or one that is missing or a symbolic link,
# starts from an empty directory. A leftover temp dir is replaced.
#
# Exit: 0, or non-zero (set -e) on the first failing command.
# Output: none.
# Go: hostcmd.Prepare, hostcmd.RemoveList.

set -e
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
