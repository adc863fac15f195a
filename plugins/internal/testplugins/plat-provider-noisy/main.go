// Command plat-provider-noisy prints to stdout before the handshake, as a
// plugin with a stray fmt.Println would.
package main

import (
	"fmt"

	"github.com/plat-sh/plat/plugins/example/plat-provider-dirs/dirs"
	"github.com/plat-sh/plat/plugins/sdk"
)

func main() {
	fmt.Println("hello from a noisy plugin")
	sdk.Serve(dirs.Factory{})
}
