package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/ui"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:         "version",
		Short:       "Print plat's version",
		Example:     "  plat version",
		Args:        exactArgs(0, "no arguments"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			rev, commit := "", ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 7 {
						rev, commit = " ("+s.Value[:7]+")", s.Value
					}
				}
			}
			if a.json {
				return a.printJSON(versionDoc{SchemaVersion: ui.SchemaVersion, Version: version, Commit: commit,
					GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, PluginProtocol: 1})
			}
			fmt.Fprintf(a.stdout, "plat %s%s %s/%s plugin-protocol 1\n", version, rev, runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
