package engine

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
)

// shTransport runs commands with this machine's sh: the registry script
// itself, as on a host (the local provider's transport does the same).
type shTransport struct{}

func (shTransport) Run(ctx context.Context, cmd *platform.Command) error {
	c := exec.CommandContext(ctx, cmd.Args[0], cmd.Args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &platform.ExitError{Code: ee.ExitCode()}
	}
	return err
}

func (shTransport) Close() error { return nil }

func TestPortsFromTheHostRegistry(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plat")
	engine := func(app string) *Engine {
		return &Engine{Project: &platform.Project{App: &platform.App{Name: app}}}
	}
	target := func(deployTo string, named int) *platform.Target {
		t := &platform.Target{Name: "web1", DeployTo: deployTo, Port: 8000, HealthAddr: "127.0.0.1:8000", Transport: shTransport{},
			Ports: &platform.PortRegistry{Dir: dir, Base: 9100}}
		if named != 0 {
			t.Port, t.HealthAddr, t.Ports.Named = named, "127.0.0.1:"+strconv.Itoa(named), true
		}
		return t
	}
	ctx := context.Background()
	prod := &platform.Environment{Name: "prod"}

	// Nothing recorded: the provider's default stays.
	notes := target("/srv/notes", 0)
	if err := engine("notes").lookupPorts(ctx, []*platform.Target{notes}); err != nil || notes.Port != 8000 {
		t.Fatalf("lookup on an empty registry: port %d, %v", notes.Port, err)
	}
	if err := engine("notes").assignPorts(ctx, prod, []*platform.Target{notes}); err != nil || notes.Port != 9100 || notes.HealthAddr != "127.0.0.1:9100" {
		t.Fatalf("assign: port %d, health %s, %v", notes.Port, notes.HealthAddr, err)
	}
	blog := target("/srv/blog", 0)
	if err := engine("blog").assignPorts(ctx, prod, []*platform.Target{blog}); err != nil || blog.Port != 9101 {
		t.Fatalf("second app: port %d, %v", blog.Port, err)
	}
	// Every later command finds the app's own port.
	again := target("/srv/blog", 0)
	if err := engine("blog").lookupPorts(ctx, []*platform.Target{again}); err != nil || again.Port != 9101 || again.HealthAddr != "127.0.0.1:9101" {
		t.Fatalf("lookup: port %d, health %s, %v", again.Port, again.HealthAddr, err)
	}
	// A named port is left alone by lookups, recorded by a push, and
	// refused when another app holds it.
	wiki := target("/srv/wiki", 9100)
	if err := engine("wiki").lookupPorts(ctx, []*platform.Target{wiki}); err != nil || wiki.Port != 9100 {
		t.Fatalf("lookup of a named port: %d, %v", wiki.Port, err)
	}
	err := engine("wiki").assignPorts(ctx, prod, []*platform.Target{wiki})
	var clash *PortClashError
	if !errors.As(err, &clash) || !errors.Is(err, ErrConfig) {
		t.Fatalf("clash: %v", err)
	}
	for _, want := range []string{"host web1", "port 9100", `app "notes"`, "/srv/notes", `app "wiki"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("clash error lacks %q: %v", want, err)
		}
	}
	shop := target("/srv/shop", 9200)
	if err := engine("shop").assignPorts(ctx, prod, []*platform.Target{shop}); err != nil || shop.Port != 9200 {
		t.Fatalf("a free named port: %d, %v", shop.Port, err)
	}
	next := target("/srv/next", 0)
	next.Ports.Base = 9200
	if err := engine("next").assignPorts(ctx, prod, []*platform.Target{next}); err != nil || next.Port != 9201 {
		t.Errorf("assignment skips a named port: got %d, want 9201", next.Port)
	}
	// A target without a registry (another provider) is untouched.
	plain := &platform.Target{Name: "web2", DeployTo: "/srv/x", Port: 8100, Transport: shTransport{}}
	if err := engine("x").assignPorts(ctx, prod, []*platform.Target{plain}); err != nil || plain.Port != 8100 {
		t.Errorf("target without a registry: %d, %v", plain.Port, err)
	}
}
