# shellcheck shell=sh
# Run plat on an admin node (platform/remote): $1 is the binary relative
# to $HOME, the rest its arguments. exec keeps the shell's pid, which the
# transport reports so that a cut connection can still stop it.
bin="$HOME/$1"
shift
exec "$bin" "$@"
