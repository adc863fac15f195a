package vagrant

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"

	"github.com/plat-sh/plat/platform"
)

// Factory is the "vagrant" provider factory.
type Factory struct{}

// Schema is the provider block's body.
func (Factory) Schema() platform.Schema {
	return platform.Schema{Attributes: []platform.Attribute{
		{Name: "box", Type: platform.TypeString, Description: "Vagrant box every machine boots (VM providers; unused by docker)"},
		{Name: "image", Type: platform.TypeString, Description: "docker image for the docker provider (default " + DefaultImage + ", built locally from " + BaseImage + ")"},
		{Name: "provider", Type: platform.TypeString, Description: `Vagrant provider: "docker" (default), "virtualbox", "libvirt", ...`},
		{Name: "vagrantfile", Type: platform.TypeString, Description: "an existing Vagrantfile to use instead of a generated one (relative to the project directory); its machines are the environment's hosts"},
		{Name: "memory", Type: platform.TypeNumber, Description: "memory per machine in MiB"},
		{Name: "cpus", Type: platform.TypeNumber, Description: "CPUs per machine"},
		{Name: "settings", Type: platform.TypeStringMap, Description: `extra attributes set in the provider block (p.KEY = VALUE; "true", "false" and numbers are passed bare)`},
	}, Hosts: &platform.HostDefaults{}}
}

// config is a decoded provider block.
type config struct {
	Box         string
	Image       string
	Provider    string
	Vagrantfile string
	Memory      int
	CPUs        int
	Settings    map[string]string
}

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// New checks the provider block and returns the provider.
func (Factory) New(cfg platform.ProviderConfig) (platform.Provider, error) {
	c, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: c, bin: "vagrant"}, nil
}

func parseConfig(cfg platform.ProviderConfig) (*config, error) {
	c := &config{
		Box:         cfg.String("box", ""),
		Image:       cfg.String("image", ""),
		Provider:    cfg.String("provider", "docker"),
		Vagrantfile: cfg.String("vagrantfile", ""),
		Memory:      cfg.Int("memory", 0),
		CPUs:        cfg.Int("cpus", 0),
	}
	switch v := cfg.Values["settings"].(type) {
	case map[string]string:
		c.Settings = maps.Clone(v)
	case map[string]any:
		c.Settings = map[string]string{}
		for k, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, errors.New(cfg.At("settings", fmt.Sprintf("vagrant provider: settings.%s must be a string", k)))
			}
			c.Settings[k] = s
		}
	case nil:
	default:
		return nil, errors.New(cfg.At("settings", fmt.Sprintf("vagrant provider: settings must be a map of strings, not %T", v)))
	}
	for k := range c.Settings {
		if !settingKey.MatchString(k) {
			return nil, errors.New(cfg.At("settings", fmt.Sprintf("vagrant provider: settings key %q is not a provider attribute name (lower-case letters, digits, _)", k)))
		}
	}
	if !providerName.MatchString(c.Provider) {
		return nil, errors.New(cfg.At("provider", fmt.Sprintf("vagrant provider: provider %q is not a Vagrant provider name", c.Provider)))
	}
	if c.Memory < 0 || c.CPUs < 0 {
		at := "memory"
		if c.Memory >= 0 {
			at = "cpus"
		}
		return nil, errors.New(cfg.At(at, "vagrant provider: memory and cpus must be positive"))
	}
	var err error
	if c.Memory, err = cfg.WholeNumber("memory", 0, 0, 1<<24); err != nil {
		return nil, err
	}
	if c.CPUs, err = cfg.WholeNumber("cpus", 0, 0, 1024); err != nil {
		return nil, err
	}
	if c.Vagrantfile != "" {
		if c.Box != "" || c.Image != "" || c.Memory != 0 || c.CPUs != 0 || len(c.Settings) != 0 {
			return nil, errors.New(cfg.At("vagrantfile", fmt.Sprintf("vagrant provider: vagrantfile %q describes the machines itself: remove box, image, memory, cpus and settings", c.Vagrantfile)))
		}
		if _, set := cfg.Values["provider"]; !set {
			// The Vagrantfile (or VAGRANT_DEFAULT_PROVIDER) decides.
			c.Provider = ""
		}
		c.Vagrantfile = filepath.Clean(c.Vagrantfile)
		return c, nil
	}
	if c.Provider == "docker" {
		if c.Box != "" {
			return nil, errors.New(cfg.At("box", fmt.Sprintf("vagrant provider: box %q needs a VM provider; the docker provider runs image (hint: set provider = \"virtualbox\" or drop box)", c.Box)))
		}
		if c.Image == "" {
			c.Image = DefaultImage
		}
		return c, nil
	}
	if c.Image != "" {
		return nil, errors.New(cfg.At("image", fmt.Sprintf("vagrant provider: image is for the docker provider, not %q (hint: use box)", c.Provider)))
	}
	if c.Box == "" {
		return nil, errors.New(cfg.At("", fmt.Sprintf("vagrant provider: provider %q needs a box (hint: box = \"debian/bookworm64\")", c.Provider)))
	}
	return c, nil
}

var _ platform.ProviderFactory = Factory{}
