package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/ui"
)

func newValidateCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check plat.hcl and print every problem with file:line:col",
		Example: `  plat validate
  plat validate --var region=ams3`,
		Args:        exactArgs(0, "no arguments"),
		Annotations: documentOutput,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, diags, err := a.loadDiags()
			var problems []diagnosticJSON
			if err == nil {
				problems = checkProviderBlocks(p)
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
		},
	}
}

// checkProviderBlocks gives every environment's provider block to its
// built-in provider, which checks what the schema cannot (a count out of
// range, an unknown trust policy), and returns each refusal as a
// diagnostic, located at the attribute when the provider named it. A
// plugin checks its own block when it is used.
func checkProviderBlocks(p *platform.Project) []diagnosticJSON {
	builtin := builtinProviders()
	var out []diagnosticJSON
	for _, env := range p.Environments {
		f, ok := builtin[env.Provider.Type]
		if !ok {
			continue
		}
		_, err := f.New(env.Provider)
		if err == nil {
			continue
		}
		d := diagnosticJSON{Severity: "error", Summary: "Invalid provider block", Detail: fmt.Sprintf("environment %s: %v", env.Name, err)}
		for _, where := range env.Provider.Where {
			if !strings.HasPrefix(err.Error(), where+": ") {
				continue
			}
			// where is file:line:col.
			parts := strings.Split(where, ":")
			if len(parts) >= 3 {
				d.File = strings.Join(parts[:len(parts)-2], ":")
				d.Line, _ = strconv.Atoi(parts[len(parts)-2])
				d.Column, _ = strconv.Atoi(parts[len(parts)-1])
			}
		}
		out = append(out, d)
	}
	return out
}
