// Command plat-provider-local serves the built-in local provider as a
// plugin, so tests run the conformance suite on it through a real plugin
// process.
package main

import (
	"github.com/plat-sh/plat/plugins/sdk"
	"github.com/plat-sh/plat/providers/local"
)

func main() { sdk.Serve(local.Factory{}) }
