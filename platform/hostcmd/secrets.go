package hostcmd

import (
	"sort"
	"strings"

	"github.com/plat-sh/plat/platform"
)

// SecretsPath is where a release's secrets live on a host, relative to
// the release directory: under .plat, so neither the manifest, the tree
// digest nor a base release's hard-linked copy includes it (Prepare drops
// the base's .plat), and pruning a release removes its secrets.
const SecretsPath = ".plat/secrets.env"

// SourceSecrets exports the release's secrets (in the current directory,
// the release) into the environment of what runs next. It holds no single
// quote, so it fits in sh -c '…' (see startScript).
const SourceSecrets = `if [ -r ` + SecretsPath + ` ]; then set -a; . ./` + SecretsPath + `; set +a; fi`

// writeSecretsScript is scripts/write-secrets.sh; its header documents it.
var writeSecretsScript = load("write-secrets.sh")

// WriteSecrets installs the secrets file (stdin, see SecretsFile) of
// release id.
func WriteSecrets(deployTo, id string) *platform.Command {
	return script(writeSecretsScript, deployTo, id)
}

// SecretsFile renders name → value as lines a POSIX shell sources:
// NAME='value', with single quotes in the value written as '\”.
func SecretsFile(values map[string]string) string {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# Written by plat: this release's secrets. Mode 0600; do not copy.\n")
	for _, k := range names {
		b.WriteString(k + "='" + strings.ReplaceAll(values[k], "'", `'\''`) + "'\n")
	}
	return b.String()
}
