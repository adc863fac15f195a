package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform/ui"
)

// Set at build time by `make release`:
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=SHA -X main.date=2026-01-02T03:04:05Z"
//
// Empty values are filled from the build info the go command records
// (module version for `go install …@vX`, vcs.revision and vcs.time for a
// build in a git checkout).
var version, commit, date string

// pluginProtocol is the go-plugin protocol version plat speaks (plugins/).
const pluginProtocol = 1

// versionInfo is what `plat version` prints (versionDoc with --json).
type versionInfo struct {
	Version        string
	Commit         string
	Date           string
	Modified       bool
	GoVersion      string
	OS             string
	Arch           string
	PluginProtocol int
}

// readVersion combines the -X values with the build info (ok is
// debug.ReadBuildInfo's second result): a -X value wins over the build
// info's, which wins over "dev".
func readVersion(bi *debug.BuildInfo, ok bool) versionInfo {
	v := versionInfo{Version: version, Commit: commit, Date: date, OS: runtime.GOOS, Arch: runtime.GOARCH, PluginProtocol: pluginProtocol}
	if ok && bi != nil {
		v.GoVersion = bi.GoVersion
		// "(devel)" is what a build outside module mode or from a work
		// tree without a usable version says: no version at all.
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if v.Date == "" {
					v.Date = s.Value
				}
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.GoVersion == "" {
		v.GoVersion = runtime.Version()
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

// String is the one-line form: plat v1.2.3 (abc1234 2026-01-02T03:04:05Z, modified) linux/amd64 go1.26 plugin-protocol 1.
func (v versionInfo) String() string {
	var paren []string
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		paren = append(paren, c)
	}
	if v.Date != "" {
		paren = append(paren, v.Date)
	}
	detail := strings.Join(paren, " ")
	if v.Modified {
		detail += ", modified"
	}
	if detail != "" {
		detail = " (" + strings.TrimPrefix(detail, ", ") + ")"
	}
	return fmt.Sprintf("plat %s%s %s/%s %s plugin-protocol %d", v.Version, detail, v.OS, v.Arch, v.GoVersion, v.PluginProtocol)
}

type versionOptions struct{}

func newVersionCommand(a *app) *cobra.Command {
	var opts versionOptions
	return &cobra.Command{
		Use:   "version",
		Short: "Print plat's version, commit and build date",
		Long: `version prints the release version (the module version for
go install …@vX, or what make release set), the commit and its time, whether
the work tree had uncommitted changes, and the platform. With --json: one
document (docs/json.md).`,
		Example:     "  plat version\n  plat version --json",
		Args:        exactArgs(0, "no arguments"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(cmd.Context(), a, opts)
		},
	}
}

func runVersion(ctx context.Context, a *app, opts versionOptions) error {
	v := readVersion(debug.ReadBuildInfo())
	if a.json {
		return a.printJSON(versionDoc{SchemaVersion: ui.SchemaVersion, Version: v.Version, Commit: v.Commit, Date: v.Date,
			Modified: v.Modified, GoVersion: v.GoVersion, OS: v.OS, Arch: v.Arch, PluginProtocol: v.PluginProtocol})
	}
	_, err := fmt.Fprintln(a.stdout, v)
	return err
}
