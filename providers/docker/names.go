package docker

import (
	"sort"
	"strings"

	"github.com/plat-sh/plat/platform"
)

// Labels plat puts on the containers and networks it creates.
const (
	LabelManaged = "plat.managed"
	LabelApp     = "plat.app"
	LabelEnv     = "plat.env"
	LabelHost    = "plat.host"
	LabelRoles   = "plat.roles"
)

// ContainerName is the container of one host: plat-<app>-<env>-<host>,
// with characters Docker does not accept in names replaced by '-'.
func ContainerName(app, env, host string) string {
	return sanitizeName("plat-" + app + "-" + env + "-" + host)
}

// NetworkName is the default network of an environment: plat-<app>-<env>.
func NetworkName(app, env string) string {
	return sanitizeName("plat-" + app + "-" + env)
}

// sanitizeName maps s onto Docker's name alphabet [a-zA-Z0-9][a-zA-Z0-9_.-]*.
func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			i > 0 && (c == '_' || c == '.' || c == '-')
		if !ok {
			b[i] = '-'
		}
	}
	return string(b)
}

// envLabels select everything plat made for one environment of one app.
func envLabels(app, env string) map[string]string {
	return map[string]string{LabelManaged: "true", LabelApp: app, LabelEnv: env}
}

// hostLabels are the labels of one host's container.
func hostLabels(app, env string, h *platform.Host) map[string]string {
	l := envLabels(app, env)
	l[LabelHost] = h.Name
	l[LabelRoles] = strings.Join(h.AllRoles(), ",")
	return l
}

// envList renders an environment map as sorted KEY=value entries.
func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
