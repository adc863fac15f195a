#!/usr/bin/env bash
# release.sh DIST VERSION COMMIT DATE PLATFORM...
#
# Builds a static plat (CGO_ENABLED=0, -trimpath) for each PLATFORM (os/arch)
# into DIST/plat-OS-ARCH, with the version, commit and date stamped through
# -ldflags -X, and writes DIST/SHA256SUMS (the format `sha256sum -c` and
# `shasum -a 256 -c` read). DIST is emptied first.
set -euo pipefail

if [ $# -lt 5 ]; then
  echo "usage: release.sh DIST VERSION COMMIT DATE OS/ARCH..." >&2
  exit 2
fi
dist=$1 version=$2 commit=$3 date=$4
shift 4

rm -rf "$dist"
mkdir -p "$dist"
ldflags="-s -w -X main.version=$version -X main.commit=$commit -X main.date=$date"
names=()
for p in "$@"; do
  os=${p%%/*} arch=${p##*/}
  if [ -z "$os" ] || [ -z "$arch" ] || [ "$os" = "$p" ]; then
    echo "release.sh: platform $p: want OS/ARCH, such as linux/amd64" >&2
    exit 2
  fi
  name="plat-$os-$arch"
  echo "build $dist/$name ($version)"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$ldflags" -o "$dist/$name" ./cmd/plat
  names+=("$name")
done

if command -v sha256sum >/dev/null; then
  sum=(sha256sum)
else
  sum=(shasum -a 256)
fi
(cd "$dist" && "${sum[@]}" "${names[@]}" > SHA256SUMS)
echo "wrote $dist/SHA256SUMS"
