package plugins

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/platformtest"
)

// ConformanceEnv is the environment Conformance uses when given none: two
// hosts, web1 and web2, in cluster web.
func ConformanceEnv() *platform.Environment {
	return &platform.Environment{
		Name: "conformance",
		Clusters: []*platform.Cluster{{Name: "web", Hosts: []*platform.Host{
			{Name: "web1", Cluster: "web"},
			{Name: "web2", Cluster: "web"},
		}}},
	}
}

// Conformance runs the provider conformance suite (platformtest) against the
// plugin at path, through the plugin boundary, writing one line per check
// to w. cfg is the provider block's values (cfg.Type defaults to the
// plugin's name); env nil means ConformanceEnv(). When the provider
// provisions, the suite creates and destroys env's machines. An engine
// provider (its schema says Scheduled) gets the scheduler suite instead
// (platformtest.SchedulerChecks, through the protocol's engine RPCs): it
// deploys a throwaway app to the engine and destroys it. It returns an
// error when the plugin cannot start or any check fails.
func Conformance(ctx context.Context, path string, cfg platform.ProviderConfig, env *platform.Environment, w io.Writer) error {
	c, err := Open(ctx, path, Options{})
	if err != nil {
		return fmt.Errorf("test plugin: %w", err)
	}
	defer c.Close()
	if cfg.Type == "" {
		cfg.Type = c.Name()
	}
	scheduled := c.Factory().Schema().Scheduled
	if env == nil {
		env = ConformanceEnv()
		if scheduled {
			env = &platform.Environment{Name: "conformance"}
		}
	}
	version := c.Version()
	if version == "" {
		version = "(no version)"
	}
	fmt.Fprintf(w, "plugin %s %s, protocol v%d, %s\n", c.Name(), version, c.Protocol(), c.Path())
	checks := platformtest.ProviderChecks(platformtest.ProviderHarness{Factory: c.Factory(), Config: cfg, Env: env})
	if scheduled {
		fmt.Fprintln(w, "engine provider: the scheduler checks")
		checks = platformtest.SchedulerChecks(platformtest.SchedulerHarness{Factory: c.Factory(), Config: cfg, Env: env,
			App: &platform.App{Name: "conformance-" + strconv.Itoa(os.Getpid())}})
	}
	if failed := platformtest.RunChecks(ctx, w, checks); failed > 0 {
		return fmt.Errorf("plugin %s failed %d of %d conformance checks", c.Name(), failed, len(checks))
	}
	return nil
}
