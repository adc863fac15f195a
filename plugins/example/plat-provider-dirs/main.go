// Command plat-provider-dirs is an example plat provider plugin: its
// targets are directories under a root, on this machine or on another one
// reached with the ssh binary. See README.md.
package main

import (
	"github.com/plat-sh/plat/plugins/example/plat-provider-dirs/dirs"
	"github.com/plat-sh/plat/plugins/sdk"
)

func main() {
	sdk.Serve(dirs.Factory{})
}
