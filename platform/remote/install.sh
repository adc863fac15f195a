# shellcheck shell=sh
# Install plat on an admin node (platform/remote): stdin is the binary,
# $1 its path relative to $HOME, $2 its SHA-256. It is written to a
# temporary name beside the target, checked, made executable and renamed
# over the target, so a cut upload never leaves a half-written plat.
set -eu
dst="$HOME/$1"
dir=${dst%/*}
umask 077
mkdir -p "$dir"
tmp="$dir/.${dst##*/}.tmp.$$"
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
sum=$(sha256sum "$tmp")
sum=${sum%% *}
if [ "$sum" != "$2" ]; then
  echo "upload of $1 arrived damaged: SHA-256 $sum, want $2" >&2
  exit 1
fi
chmod 0755 "$tmp"
mv -f "$tmp" "$dst"
trap - EXIT
