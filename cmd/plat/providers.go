package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/plugins"
	"github.com/plat-sh/plat/providers/docker"
	"github.com/plat-sh/plat/providers/local"
	"github.com/plat-sh/plat/providers/ssh"
	"github.com/plat-sh/plat/providers/swarm"
	"github.com/plat-sh/plat/providers/vagrant"
)

// builtinProviders are compiled into plat.
func builtinProviders() map[string]platform.ProviderFactory {
	return map[string]platform.ProviderFactory{
		"local":   local.Factory{},
		"ssh":     ssh.Factory{},
		"docker":  docker.Factory{},
		"vagrant": vagrant.Factory{},
		"swarm":   swarm.Factory{},
	}
}

// providers returns the provider types a project can use: the built-ins,
// then plat-provider-<name> plugins (.plat/plugins, ~/.plat/plugins,
// $PATH). A plugin is started only when plat.hcl names its type, and only
// if the project's lock file (.plat/plugins.lock.hcl) records its checksum.
//
// The map is made once per command and directory, and reused: each
// pluginFactory starts its plugin once, so the load and the engine share
// one plugin process.
func (a *app) providers(dir string) map[string]platform.ProviderFactory {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if out, ok := a.factories[dir]; ok {
		return out
	}
	out := builtinProviders()
	if a.factories == nil {
		a.factories = map[string]map[string]platform.ProviderFactory{}
	}
	a.factories[dir] = out
	file := a.fileName()
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	used := providerTypes(file)
	for _, f := range plugins.Discover(plugins.SearchDirs(dir)...) {
		if _, builtin := out[f.Name]; builtin || !used[f.Name] {
			continue
		}
		out[f.Name] = &pluginFactory{a: a, path: f.Path, lockFile: filepath.Join(dir, ".plat", plugins.LockFileName)}
	}
	return out
}

// providerTypes lists the provider block labels of a plat.hcl (a cheap
// syntax-only pass, so plugins that are not used are never started).
func providerTypes(path string) map[string]bool {
	types := map[string]bool{}
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() || f == nil {
		return types
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return types
	}
	for _, b := range body.Blocks {
		if b.Type != "environment" {
			continue
		}
		for _, inner := range b.Body.Blocks {
			if inner.Type == "provider" && len(inner.Labels) == 1 {
				types[inner.Labels[0]] = true
			}
		}
	}
	return types
}

// pluginFactory starts its plugin on first use and keeps it for the
// command's lifetime (app.onClose stops it). A plugin that died is started
// again on the next New, so plat can still release the deploy lock
// through it after a crash.
type pluginFactory struct {
	a        *app
	path     string
	lockFile string

	mu     sync.Mutex
	client *plugins.Client
}

func (p *pluginFactory) open() (*plugins.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil && !p.client.Exited() {
		return p.client, nil
	}
	ctx := p.a.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if _, err := os.Stat(p.lockFile); err != nil {
		return nil, fmt.Errorf("plugin %s is not locked: run `plat plugins lock %s` (or `plat plugins install`) to record its checksum in %s", plugins.NameOf(p.path), plugins.NameOf(p.path), p.lockFile)
	}
	c, err := plugins.Open(context.WithoutCancel(ctx), p.path, plugins.Options{LockFile: p.lockFile, HostVersion: version})
	if err != nil {
		return nil, err
	}
	p.client = c
	p.a.onClose(func() { c.Close() })
	return c, nil
}

// Schema is the plugin's; a plugin that cannot start has an empty schema
// (New then reports why).
func (p *pluginFactory) Schema() platform.Schema {
	c, err := p.open()
	if err != nil {
		return platform.Schema{}
	}
	return c.Factory().Schema()
}

func (p *pluginFactory) New(cfg platform.ProviderConfig) (platform.Provider, error) {
	c, err := p.open()
	if err != nil {
		return nil, err
	}
	return c.Factory().New(cfg)
}
