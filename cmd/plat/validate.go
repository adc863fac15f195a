package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/ui"
)

type validateOptions struct{}

func newValidateCommand(a *app) *cobra.Command {
	var opts validateOptions
	return &cobra.Command{
		Use:   "validate",
		Short: "Check plat.hcl and print every problem with file:line:col",
		Example: `  plat validate
  plat validate --var region=ams3`,
		Args:        exactArgs(0, "no arguments"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd.Context(), a, opts)
		},
	}
}

func runValidate(ctx context.Context, a *app, opts validateOptions) error {
	p, diags, err := a.loadDiags()
	var problems []diagnosticJSON
	if err == nil {
		problems = checkProviderBlocks(p, a.providers(p.Dir))
	}
	if a.json {
		if len(problems) > 0 {
			err = configError{len(problems)}
		}
		var ce configError
		if err != nil && !errors.As(err, &ce) {
			return err
		}
		doc := validateDoc{SchemaVersion: ui.SchemaVersion, File: a.shownFile(), Valid: err == nil,
			Environments: []string{}, Diagnostics: append(diagnostics(diags), problems...)}
		if p != nil {
			doc.App = p.App.Name
			for _, e := range p.Environments {
				doc.Environments = append(doc.Environments, e.Name)
			}
		}
		if perr := a.printJSON(doc); perr != nil {
			return perr
		}
		return err
	}
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		for _, pr := range problems {
			fmt.Fprintf(a.stderr, "Error: %s\n", pr.Detail)
		}
		return configError{len(problems)}
	}
	fmt.Fprintf(a.stdout, "%s: app %q, %d environments: ok\n", a.shownFile(), p.App.Name, len(p.Environments))
	return nil
}

// checkProviderBlocks gives every environment's provider block to its
// provider's factory (built-in, or the plugin the load started: its
// Configure call), whose New parses the block's values and contacts
// nothing: it checks what the schema cannot (a port out of range, a
// docker_host that is no address, an unknown trust policy). Each refusal
// (each of a joined error) is a diagnostic, located at the attribute the
// provider named (ProviderConfig.At), else at the provider block.
func checkProviderBlocks(p *platform.Project, factories map[string]platform.ProviderFactory) []diagnosticJSON {
	var out []diagnosticJSON
	for _, env := range p.Environments {
		f, ok := factories[env.Provider.Type]
		if !ok {
			continue
		}
		_, err := f.New(env.Provider)
		if err == nil {
			continue
		}
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, err := range errs {
			out = append(out, providerDiagnostic(env, err))
		}
	}
	return out
}

// providerDiagnostic is a provider's refusal of env's block, at the
// attribute its message starts with (file:line:col: ...), else at the
// block's label.
func providerDiagnostic(env *platform.Environment, err error) diagnosticJSON {
	msg := err.Error()
	d := diagnosticJSON{Severity: "error", Summary: "Invalid provider block"}
	where := env.Provider.Where[""]
	for name, w := range env.Provider.Where {
		if name != "" && strings.HasPrefix(msg, w+": ") {
			where = w
			break
		}
	}
	if where != "" && !strings.HasPrefix(msg, where+": ") {
		msg = where + ": " + msg
	}
	d.Detail = fmt.Sprintf("environment %s: %s", env.Name, msg)
	// where is file:line:col.
	if parts := strings.Split(where, ":"); len(parts) >= 3 {
		d.File = strings.Join(parts[:len(parts)-2], ":")
		d.Line, _ = strconv.Atoi(parts[len(parts)-2])
		d.Column, _ = strconv.Atoi(parts[len(parts)-1])
	}
	return d
}
