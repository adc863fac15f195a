package hostcmd

import (
	"embed"
	"strings"

	"github.com/plat-sh/plat/platform"
)

// The host-side programs are the files in scripts/, one per command, each
// with a header that documents its positional arguments, exit codes and
// output. They are checked by sh -n and shellcheck (make lint) and run
// on their own by this package's tests.
//
//go:embed scripts/*.sh
var scriptFiles embed.FS

// loaded names the files load read, so a test finds files nothing runs.
var loaded = map[string]bool{}

// load returns scripts/name as it is sent to hosts: without its header
// (the shebang and the comment lines before the first command), which
// only readers need; the argv stays short and ps on a host stays legible.
func load(name string) string {
	loaded[name] = true
	b, err := scriptFiles.ReadFile("scripts/" + name)
	if err != nil {
		panic("hostcmd: missing script " + name + ": " + err.Error())
	}
	return stripHeader(string(b))
}

// stripHeader drops the leading lines that are comments or blank.
func stripHeader(s string) string {
	for s != "" {
		line, rest, _ := strings.Cut(s, "\n")
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			break
		}
		s = rest
	}
	return s
}

func script(s string, args ...string) *platform.Command {
	return &platform.Command{Args: append([]string{"sh", "-c", s, "plat"}, args...)}
}

// listingScript is scripts/listing.sh.
var listingScript = load("listing.sh")

// Listing prints the listing of the release tree dir, as finish.sh
// hashes it and verify.sh prints it: it equals release.Manifest.Listing
// of the same tree, byte for byte.
func Listing(dir string) *platform.Command { return script(listingScript, dir) }
