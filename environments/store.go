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
	},
}

// loadStore decodes the store block (at most one); nil when there is
// none.
func (l *loader) loadStore(blocks []*hcl.Block) *platform.StoreConfig {
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
	if strings.HasPrefix(path, "~/") {
		path = "~/" + filepath.Clean(path[2:])
	} else if !filepath.IsAbs(path) {
		path = filepath.Join(l.dir, path)
	}
	return &platform.StoreConfig{Path: path}
}
