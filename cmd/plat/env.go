package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/environments"
	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/suggest"
	"github.com/plat-sh/plat/platform/ui"
)

func newEnvCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "List, show and compare environments; update shared sources",
		Example: `  plat env list
  plat env show prod
  plat env diff stage prod
  plat env update ops`,
	}
	cmd.AddCommand(newEnvListCommand(a), newEnvShowCommand(a), newEnvDiffCommand(a), newEnvUpdateCommand(a))
	return cmd
}

type envListOptions struct{}

func newEnvListCommand(a *app) *cobra.Command {
	var opts envListOptions
	return &cobra.Command{
		Use:         "list",
		Short:       "List environments with their provider and host count",
		Example:     "  plat env list",
		Args:        exactArgs(0, "no arguments"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEnvList(cmd.Context(), a, opts)
		},
	}
}

func runEnvList(_ context.Context, a *app, _ envListOptions) error {
	p, err := a.load()
	if err != nil {
		return err
	}
	if a.json {
		doc := envListDoc{SchemaVersion: ui.SchemaVersion, Environments: []envListEntry{}}
		for _, env := range p.Environments {
			doc.Environments = append(doc.Environments, envListEntry{env.Name, env.Provider.Type, len(env.Hosts()), env.Inherits})
		}
		return a.printJSON(doc)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tPROVIDER\tHOSTS\tINHERITS")
	for _, env := range p.Environments {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", env.Name, env.Provider.Type, len(env.Hosts()), env.Inherits)
	}
	return tw.Flush()
}

type envShowOptions struct {
	envName string
}

func newEnvShowCommand(a *app) *cobra.Command {
	var opts envShowOptions
	return &cobra.Command{
		Use:         "show ENV",
		Short:       "Show an environment resolved, with inheritance applied",
		Example:     "  plat env show prod",
		Args:        exactArgs(1, "one environment"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.envName = args[0]
			return runEnvShow(cmd.Context(), a, opts)
		},
	}
}

func runEnvShow(_ context.Context, a *app, opts envShowOptions) error {
	p, env, err := a.loadEnv(opts.envName)
	if err != nil {
		return err
	}
	if a.json {
		doc := newEnvShowDoc(p, env)
		addOrigins(&doc, a.files)
		return a.printJSON(doc)
	}
	fmt.Fprint(a.stdout, environments.Describe(p, env))
	fmt.Fprint(a.stdout, environments.DescribeOrigins(a.files, env.Name))
	return nil
}

// envDiffOptions names the two environments plat env diff compares.
type envDiffOptions struct {
	a, b string
}

func newEnvDiffCommand(a *app) *cobra.Command {
	var opts envDiffOptions
	return &cobra.Command{
		Use:   "diff A B",
		Short: "Show what really differs between two environments",
		Long: `diff compares two environments field by field, inheritance and defaults
applied. Like diff(1), it exits 0 when they are the same and 1 when they
differ.`,
		Example:     "  plat env diff laptop dev",
		Args:        exactArgs(2, "two environments"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.a, opts.b = args[0], args[1]
			return runEnvDiff(cmd.Context(), a, opts)
		},
	}
}

func runEnvDiff(_ context.Context, a *app, opts envDiffOptions) error {
	p, envA, err := a.loadEnv(opts.a)
	if err != nil {
		return err
	}
	envB := p.Environment(opts.b)
	if envB == nil {
		return unknownEnv(p, opts.b)
	}
	diffs := environments.DiffFields(p, envA, envB)
	if len(diffs) > 0 {
		a.exitCode = exitDeployFail
	}
	if a.json {
		return a.printJSON(newEnvDiffDoc(envA.Name, envB.Name, diffs))
	}
	fmt.Fprint(a.stdout, environments.Diff(p, envA, envB))
	return nil
}

type envUpdateOptions struct {
	name string // "" for every shared source
}

func newEnvUpdateCommand(a *app) *cobra.Command {
	var opts envUpdateOptions
	return &cobra.Command{
		Use:   "update [NAME]",
		Short: "Move the pins of shared sources to their ref's current commit",
		Long: `update fetches each git source of plat.hcl's shared blocks (or only NAME),
checks that the project loads with the commit its ref names now, and
writes that commit into the lock file next to plat.hcl (plat.lock.hcl).
Until then every plat command uses the pinned commit, from the cache,
without network. Commit the lock file so every machine that pushes uses
the same definitions. A project with errors keeps its old pins.`,
		Example: `  plat env update         # every shared source
  plat env update ops     # only ops`,
		Annotations: documentOutput,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("%s takes at most one shared source name (got %d arguments)", cmd.CommandPath(), len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.name = args[0]
			}
			return runEnvUpdate(cmd.Context(), a, opts)
		},
	}
}

func runEnvUpdate(ctx context.Context, a *app, opts envUpdateOptions) error {
	_, _, err := a.loadWith(func(o *environments.Options) {
		if opts.name != "" {
			o.Update = []string{opts.name}
		} else {
			o.UpdateAll = true
		}
	})
	srcs := a.files.Sources()
	if opts.name != "" && !slices.ContainsFunc(srcs, func(s environments.Source) bool { return s.Name == opts.name }) && err == nil {
		var names []string
		for _, s := range srcs {
			names = append(names, s.Name)
		}
		return usageError{fmt.Errorf("plat.hcl has no shared source %q%s (declared: %s)", opts.name, suggest.Hint(opts.name, names), orNone(names))}
	}
	if err != nil {
		var ce configError
		if errors.As(err, &ce) && len(srcs) > 0 {
			fmt.Fprintln(a.stderr, "plat env update: no pin moved; the lock file is as it was")
		}
		return err
	}
	if a.json {
		doc := envUpdateDoc{SchemaVersion: ui.SchemaVersion, Sources: []envUpdateSource{}}
		for _, s := range srcs {
			doc.Sources = append(doc.Sources, envUpdateSource{Name: s.Name, Git: s.Git, Ref: s.Ref, Path: s.Path,
				Previous: s.Previous, Commit: s.Commit, Changed: s.Git != "" && s.Previous != s.Commit})
		}
		return a.printJSON(doc)
	}
	if len(srcs) == 0 {
		fmt.Fprintln(a.stdout, "plat.hcl declares no shared source: nothing to update")
		return nil
	}
	for _, s := range srcs {
		switch {
		case s.Git == "":
			fmt.Fprintf(a.stdout, "%s: path %s (not pinned: read as it is)\n", s.Name, s.Path)
		case opts.name != "" && s.Name != opts.name:
			fmt.Fprintf(a.stdout, "%s: %s (kept)\n", s.Name, short(s.Commit))
		case s.Previous == "":
			fmt.Fprintf(a.stdout, "%s: pinned %s (%s)\n", s.Name, short(s.Commit), s.Git)
		case s.Previous == s.Commit:
			fmt.Fprintf(a.stdout, "%s: %s, already %s's commit (%s)\n", s.Name, short(s.Commit), s.Ref, s.Git)
		default:
			fmt.Fprintf(a.stdout, "%s: %s -> %s (%s)\n", s.Name, short(s.Previous), short(s.Commit), s.Git)
		}
	}
	return nil
}

// originJSON is where one setting of env show comes from.
type originJSON struct {
	Field string `json:"field"`
	Env   string `json:"environment"`
	Where string `json:"where"`
}

// sharedJSON is one shared source of env show.
type sharedJSON struct {
	Name   string `json:"name"`
	Git    string `json:"git,omitempty"`
	Path   string `json:"path,omitempty"`
	Commit string `json:"commit,omitempty"`
	Dir    string `json:"dir"`
}

// addOrigins adds to env show's document where each setting comes from,
// when the project uses shared sources.
func addOrigins(doc *envShowDoc, files *environments.Files) {
	srcs := files.Sources()
	if len(srcs) == 0 {
		return
	}
	for _, o := range files.Origins(doc.Name) {
		doc.Origins = append(doc.Origins, originJSON{Field: o.Field, Env: o.Env, Where: o.Where})
	}
	for _, s := range srcs {
		doc.Shared = append(doc.Shared, sharedJSON{Name: s.Name, Git: s.Git, Path: s.Path, Commit: s.Commit, Dir: s.Dir})
	}
}

// envUpdateDoc is plat env update's --json document.
type envUpdateDoc struct {
	SchemaVersion int               `json:"schema_version"`
	Sources       []envUpdateSource `json:"sources"`
}

// envUpdateSource is one shared source after the update: a git source's
// pin before (previous, absent when first pinned) and after (commit).
type envUpdateSource struct {
	Name     string `json:"name"`
	Git      string `json:"git,omitempty"`
	Ref      string `json:"ref,omitempty"`
	Path     string `json:"path,omitempty"`
	Previous string `json:"previous,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Changed  bool   `json:"changed"`
}

func short(commit string) string { return commit[:min(7, len(commit))] }

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (a *app) loadEnv(name string) (*platform.Project, *platform.Environment, error) {
	p, err := a.load()
	if err != nil {
		return nil, nil, err
	}
	env := p.Environment(name)
	if env == nil {
		return nil, nil, unknownEnv(p, name)
	}
	return p, env, nil
}

func unknownEnv(p *platform.Project, name string) error {
	var names []string
	for _, e := range p.Environments {
		names = append(names, e.Name)
	}
	return usageError{fmt.Errorf("unknown environment %q%s (defined: %s)", name, suggest.Hint(name, names), strings.Join(names, ", "))}
}
