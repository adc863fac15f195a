package main

import (
	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/docker"
	"github.com/plat-sh/plat/providers/local"
	"github.com/plat-sh/plat/providers/ssh"
)

// providers returns the provider types plat knows: the built-ins, then
// plugins found for the project in dir.
func (a *app) providers(dir string) map[string]platform.ProviderFactory {
	return map[string]platform.ProviderFactory{
		"local":  local.Factory{},
		"docker": docker.Factory{},
		"ssh":    ssh.Factory{},
	}
}
