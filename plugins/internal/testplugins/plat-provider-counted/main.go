// Command plat-provider-counted serves the built-in local provider as a
// plugin and appends one line (its pid) to the file named by
// $PLAT_TEST_LAUNCH_LOG each time it starts, so a test can count how many
// times one plat command starts a plugin.
package main

import (
	"fmt"
	"os"

	"github.com/plat-sh/plat/plugins/sdk"
	"github.com/plat-sh/plat/providers/local"
)

func main() {
	if path := os.Getenv("PLAT_TEST_LAUNCH_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "launch log:", err)
			os.Exit(1)
		}
		fmt.Fprintln(f, os.Getpid())
		f.Close()
	}
	sdk.Serve(local.Factory{})
}
