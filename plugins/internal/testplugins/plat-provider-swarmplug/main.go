// Command plat-provider-swarmplug serves the built-in swarm engine
// provider as a plugin, so tests run the scheduler conformance suite and
// plat's scheduled push through the plugin protocol against a real swarm.
package main

import (
	"github.com/plat-sh/plat/plugins/sdk"
	"github.com/plat-sh/plat/providers/swarm"
)

func main() { sdk.Serve(swarm.Factory{}) }
