#!/bin/sh
# write-secrets.sh DEPLOY_TO ID   (stdin: the secrets file)
#
# Writes stdin to DEPLOY_TO/releases/ID/.plat/secrets.env, mode 0600
# (umask first, so it never exists with a wider mode), under a temp name
# then renamed: a reader sees the old file or the new one.
#
# Exit: 0; 1 when the release is not on this host; other non-zero on a
# failing write.
# Go: hostcmd.WriteSecrets, hostcmd.SecretsFile.

set -e
umask 077
d="$1/releases/$2/.plat"
[ -d "$d" ] || { echo "plat: release $2 is not on this host" >&2; exit 1; }
cat > "$d/secrets.env.tmp"
chmod 600 "$d/secrets.env.tmp"
mv -f "$d/secrets.env.tmp" "$d/secrets.env"
