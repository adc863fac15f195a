# shellcheck shell=sh
# Probe an admin node for plat (platform/remote). $1 is the binary plat
# wants to run there, relative to $HOME. Prints the machine ("uname OS
# MACHINE") and, when that binary runs, its `version --json` document.
printf 'uname %s %s\n' "$(uname -s)" "$(uname -m)"
bin="$HOME/$1"
if [ -f "$bin" ] && [ -x "$bin" ]; then
  "$bin" version --json 2>/dev/null || true
fi
