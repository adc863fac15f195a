package environments

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/plat-sh/plat/platform"
)

var secretSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "dotenv"}, {Name: "key"}, {Name: "env"}, {Name: "command"}, {Name: "timeout"},
	},
}

// validVarName is what a secret's name may be: it becomes an environment
// variable of the processes.
var validVarName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkSecretNames reports repeated secret names within one body (an app
// or one environment block); across bodies a later one overrides.
func (l *loader) checkSecretNames(blocks []*hcl.Block) {
	seen := map[string]*hcl.Block{}
	for _, b := range blocks {
		if b.Type != "secret" {
			continue
		}
		name := b.Labels[0]
		if prev := seen[name]; prev != nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate secret name",
				Detail:   firstAt(fmt.Sprintf("Secret %q", name), prev.DefRange),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		seen[name] = b
		if !validVarName.MatchString(name) {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid secret name",
				Detail:   fmt.Sprintf("%q is not an environment variable name: use letters, digits and '_', not starting with a digit.", name),
				Subject:  b.LabelRanges[0].Ptr(),
			})
		}
	}
}

// mergeSecretBlocks returns base's secret blocks with over's replacing
// those of the same name and adding the others, in declaration order.
func mergeSecretBlocks(base, over []*hcl.Block) []*hcl.Block {
	byName := map[string]int{}
	var out []*hcl.Block
	for _, list := range [][]*hcl.Block{base, over} {
		for _, b := range list {
			if i, ok := byName[b.Labels[0]]; ok {
				out[i] = b
				continue
			}
			byName[b.Labels[0]] = len(out)
			out = append(out, b)
		}
	}
	return out
}

// decodeSecrets evaluates the effective secret blocks of an environment.
func (l *loader) decodeSecrets(blocks []*hcl.Block, sc scope, env map[string]string) []platform.Secret {
	var out []platform.Secret
	for _, b := range blocks {
		if s, ok := l.decodeSecret(b, sc); ok {
			if _, clash := env[s.Name]; clash {
				l.add(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Secret and env of the same name",
					Detail:   fmt.Sprintf("%q is both a secret and a key of env; keep one (a secret is never printed, env values are).", s.Name),
					Subject:  b.LabelRanges[0].Ptr(),
				})
				continue
			}
			out = append(out, s)
		}
	}
	return out
}

func (l *loader) decodeSecret(b *hcl.Block, sc scope) (platform.Secret, bool) {
	s := platform.Secret{Name: b.Labels[0], Where: fmt.Sprintf("%s:%d", relPath(l.dir, b.DefRange.Filename), b.DefRange.Start.Line)}
	content, diags := b.Body.Content(secretSchema)
	l.add(diags...)
	if diags.HasErrors() {
		return s, false
	}
	a := content.Attributes
	ok := true
	n := 0
	if at := a["dotenv"]; at != nil {
		n++
		p, good := l.str(at, sc)
		ok = ok && good
		if good {
			if rest, home := strings.CutPrefix(p, "~/"); home {
				if h, err := os.UserHomeDir(); err == nil {
					p = filepath.Join(h, rest)
				}
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(l.dir, p)
			}
			p = filepath.Clean(p)
			if r, err := filepath.Rel(l.dir, p); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
				l.invalid(at, "Secret file inside the project", fmt.Sprintf("The dotenv file of secret %q is %s, inside the project directory, where it could be committed or deployed; keep it outside (for example under ~/.config) with mode 0600.", s.Name, p))
				ok = false
			}
			s.Dotenv = p
		}
	}
	if at := a["key"]; at != nil {
		if a["dotenv"] == nil {
			l.invalid(at, "key without dotenv", fmt.Sprintf("Secret %q: key names the variable to read from a dotenv file; add dotenv = \"…\" or remove key.", s.Name))
			ok = false
		} else if k, good := l.str(at, sc); good {
			s.Key = k
		}
	}
	if at := a["env"]; at != nil {
		n++
		v, good := l.str(at, sc)
		ok = ok && good
		if good && !validVarName.MatchString(v) {
			l.invalid(at, "Invalid variable name", fmt.Sprintf("Secret %q: %q is not an environment variable name.", s.Name, v))
			ok = false
		}
		s.FromEnv = v
	}
	if at := a["command"]; at != nil {
		n++
		argv, good := l.argv(at, sc)
		ok = ok && good
		s.Command = argv
	}
	if at := a["timeout"]; at != nil {
		d, good := l.duration(at, sc)
		ok = ok && good
		s.Timeout = d
	}
	if n != 1 {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Secret needs one source",
			Detail:   fmt.Sprintf(`Secret %q needs exactly one of dotenv = "~/.config/app/prod.env", env = "VAR" or command = ["op", "read", "op://vault/item/field"]; it has %d.`, s.Name, n),
			Subject:  b.DefRange.Ptr(),
		})
		ok = false
	}
	return s, ok
}
