package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/release"
)

// argKind is what a positional argument names, for shell completion.
type argKind int

const (
	argEnv     argKind = iota // an environment of plat.hcl
	argRelease                // a release of the environment in args[0], from the local store
	argTask                   // a task of the app
	argLockOp                 // plat lock's status or break
	argHost                   // a host of the environment in args[0]
)

// completedArgs says, per command path, what each positional argument is.
// Commands not listed take no argument plat can complete.
var completedArgs = map[string][]argKind{
	"plat push":       {argEnv},
	"plat rollback":   {argEnv, argRelease},
	"plat promote":    {argEnv, argEnv, argRelease}, // the release of FROM
	"plat releases":   {argEnv},
	"plat diff":       {argEnv, argRelease, argRelease},
	"plat status":     {argEnv},
	"plat lock":       {argEnv, argLockOp},
	"plat up":         {argEnv},
	"plat down":       {argEnv},
	"plat exec":       {argEnv},
	"plat console":    {argEnv},
	"plat ps":         {argEnv},
	"plat start":      {argEnv},
	"plat stop":       {argEnv},
	"plat restart":    {argEnv},
	"plat run":        {argEnv, argTask},
	"plat logs":       {argEnv},
	"plat env show":   {argEnv},
	"plat env diff":   {argEnv, argEnv},
	"plat ssh-config": {argEnv, argHost},
}

// registerCompletions gives every command in completedArgs its
// ValidArgsFunction, and every --host and --role flag the hosts and roles
// of the environment named first. Completion reads plat.hcl (and the
// local release store) as the command would, with -C and -f, and prints
// nothing when it cannot: a shell completion must never show an error.
func registerCompletions(a *app, root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if kinds, ok := completedArgs[c.CommandPath()]; ok {
			c.ValidArgsFunction = a.completeArgs(kinds)
		}
		if c.Flags().Lookup("host") != nil {
			_ = c.RegisterFlagCompletionFunc("host", a.completeHostFlag(func(h *platform.Host) []string { return []string{h.Name} }))
		}
		if c.Flags().Lookup("role") != nil {
			_ = c.RegisterFlagCompletionFunc("role", a.completeHostFlag(func(h *platform.Host) []string { return h.Roles }))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func (a *app) completeArgs(kinds []argKind) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(kinds) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if kinds[len(args)] == argLockOp {
			return filterPrefix([]cobra.Completion{
				cobra.CompletionWithDesc("status", "who holds the deploy lock"),
				cobra.CompletionWithDesc("break", "remove the deploy lock"),
			}, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		p := a.completionProject(cmd)
		if p == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		switch kinds[len(args)] {
		case argEnv:
			for _, e := range p.Environments {
				out = append(out, cobra.CompletionWithDesc(e.Name, fmt.Sprintf("%s, %s", e.Provider.Type, plural(len(e.Hosts()), "host"))))
			}
		case argTask:
			for _, t := range p.App.Tasks {
				out = append(out, cobra.CompletionWithDesc(t.Name, fmt.Sprintf("%s: %s", t.When, strings.Join(t.Run, " "))))
			}
		case argRelease:
			out = releaseCompletions(p, args[0])
		case argHost:
			if env := p.Environment(args[0]); env != nil {
				for _, h := range env.Hosts() {
					out = append(out, cobra.CompletionWithDesc(h.Name, "cluster "+h.Cluster))
				}
			}
		}
		return filterPrefix(out, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// releaseCompletions lists the environment's releases in the local store,
// newest first (the hosts are not asked: completion must be instant).
func releaseCompletions(p *platform.Project, env string) []cobra.Completion {
	store := &release.Store{Root: filepath.Join(p.Dir, ".plat", "store")}
	rs, err := store.List(env)
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, r := range slices.Backward(rs) {
		desc := r.Time.Local().Format("2006-01-02 15:04")
		if sha := r.GitSHA; sha != "" {
			desc += " " + sha[:min(7, len(sha))]
		}
		if r.Message != "" {
			desc += " " + r.Message
		}
		out = append(out, cobra.CompletionWithDesc(r.ID, desc))
	}
	return out
}

// completeHostFlag completes a flag with names taken from the hosts of the
// environment in args[0] (its host names or roles), each name once.
func (a *app) completeHostFlag(names func(*platform.Host) []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		p := a.completionProject(cmd)
		if p == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		env := p.Environment(args[0])
		if env == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, h := range env.Hosts() {
			for _, n := range names(h) {
				if !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
		// --host web1,we<TAB>: complete the last element of the list.
		done, last := "", toComplete
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			done, last = toComplete[:i+1], toComplete[i+1:]
		}
		var withPrefix []cobra.Completion
		for _, c := range filterPrefix(out, last) {
			withPrefix = append(withPrefix, done+c)
		}
		return withPrefix, cobra.ShellCompDirectiveNoFileComp
	}
}

// completionProject loads plat.hcl for a completion, diagnostics discarded.
func (a *app) completionProject(cmd *cobra.Command) *platform.Project {
	if a.ctx == nil {
		a.ctx = cmd.Context()
		if a.ctx == nil {
			a.ctx = context.Background()
		}
	}
	stderr := a.stderr
	a.stderr = io.Discard
	// A completion never fetches a shared source: it must be instant and
	// work offline; a source not yet cached completes nothing.
	a.offline = true
	defer func() { a.stderr, a.offline = stderr, false }()
	p, err := a.load()
	if err != nil {
		return nil
	}
	return p
}

func filterPrefix(cs []cobra.Completion, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range cs {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
