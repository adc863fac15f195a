package environments

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/plat-sh/plat/platform"
)

// storeSchema is the body of the top-level store block: the team's
// release store, which every pusher writes and reads (see
// platform.StoreConfig).
var storeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "path", Required: true},
		{Name: "host"},
		{Name: "environment"},
	},
}

// loadStore decodes the store block (at most one); nil when there is
// none.
func (l *loader) loadStore(blocks []*hcl.Block, p *platform.Project) *platform.StoreConfig {
	if len(blocks) == 0 {
		return nil
	}
	for _, b := range blocks[1:] {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate store block",
			Detail:   fmt.Sprintf("A plat.hcl names one team store; the first store block is at line %d.", blocks[0].DefRange.Start.Line),
			Subject:  b.DefRange.Ptr(),
		})
	}
	content, diags := blocks[0].Body.Content(storeSchema)
	l.add(diags...)
	at := content.Attributes["path"]
	if at == nil {
		return nil
	}
	path, ok := l.str(at, scope{app: true})
	if !ok {
		return nil
	}
	if strings.TrimSpace(path) == "" || strings.Contains(path, "://") {
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid store path",
			Detail:   fmt.Sprintf("store path = %q: want a directory every pusher reaches (a shared mount, or a directory on the admin node), absolute or relative to the project.", path),
			Subject:  at.Expr.Range().Ptr(),
		})
		return nil
	}
	cfg := &platform.StoreConfig{}
	if at := content.Attributes["host"]; at != nil {
		if cfg.Host, ok = l.str(at, scope{app: true}); !ok {
			return nil
		}
	}
	if at := content.Attributes["environment"]; at != nil {
		if cfg.Environment, ok = l.str(at, scope{app: true}); !ok {
			return nil
		}
		if cfg.Host == "" {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Store environment without a host",
				Detail:   "store environment names whose provider reaches the store's host: set host too, or leave both out for a directory on this machine.",
				Subject:  at.Expr.Range().Ptr(),
			})
			return nil
		}
		if p.Environment(cfg.Environment) == nil {
			l.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown environment",
				Detail:   fmt.Sprintf("store environment = %q: plat.hcl has no such environment.", cfg.Environment),
				Subject:  at.Expr.Range().Ptr(),
			})
			return nil
		}
	}
	switch {
	case strings.HasPrefix(path, "~/"):
		path = "~/" + filepath.Clean(path[2:])
	case cfg.Host != "" && !filepath.IsAbs(path):
		l.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid store path",
			Detail:   fmt.Sprintf("store path = %q on host %s: want an absolute path, or one under ~/ (the login's home there).", path, cfg.Host),
			Subject:  at.Expr.Range().Ptr(),
		})
		return nil
	case !filepath.IsAbs(path):
		path = filepath.Join(l.dir, path)
	}
	cfg.Path = filepath.Clean(path)
	if strings.HasPrefix(path, "~/") {
		cfg.Path = path
	}
	return cfg
}
