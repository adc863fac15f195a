package hostcmd

import (
	"github.com/plat-sh/plat/platform"
)

// teamStoreScript is scripts/team-store.sh: the team's release store in a
// directory on a host.
var teamStoreScript = load("team-store.sh")

// ExitStoreMissing is StoreCat's exit code for a file the store lacks.
const ExitStoreMissing = 3

// StoreCat prints the store file rel (relative to root).
func StoreCat(root, rel string) *platform.Command {
	return script(teamStoreScript, root, "cat", rel)
}

// StoreHave reads store paths on stdin and prints those root lacks.
func StoreHave(root string) *platform.Command { return script(teamStoreScript, root, "have", "") }

// StorePut reads a tar of store files on stdin and renames each into
// place under root, metadata last.
func StorePut(root string) *platform.Command { return script(teamStoreScript, root, "put", "") }

// StoreGet reads store paths on stdin and writes a tar of those root has.
func StoreGet(root string) *platform.Command { return script(teamStoreScript, root, "get", "") }

// StoreList prints the release ids root holds for env.
func StoreList(root, env string) *platform.Command {
	return script(teamStoreScript, root, "list", env)
}
