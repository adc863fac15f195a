package environments

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// App kinds a starter is written for: the built-in buildpacks' names
// (plat init asks buildpacks.DetectBuiltin, the detection plat push uses)
// or generic when none applies.
const (
	KindPython   = "python"
	KindGo       = "go"
	KindNode     = "node"
	KindStatic   = "static"
	KindProcfile = "procfile"
	KindGeneric  = "generic"
)

// Starter returns a commented starter plat.hcl for the app in dir, of the
// given kind (a built-in buildpack's name, or KindGeneric). The file
// declares a `local` environment of two hosts and shows an ssh one in
// comments; it loads without diagnostics.
func Starter(dir, kind string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("inspect app directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("inspect app directory: %s is not a directory", abs)
	}
	return []byte(starterText(appName(abs), kind)), nil
}

// appName turns the directory name into an app name: lower case letters,
// digits and dashes.
func appName(dir string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(filepath.Base(dir)) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if name == "" {
		return "app"
	}
	return name
}

func starterText(name, kind string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# plat.hcl: how plat builds and deploys %s.\n", name)
	p("# Check it with `plat validate`, see an environment with `plat env show local`\n")
	p("# (inheritance and defaults applied), deploy with `plat push local`.\n")
	p("\n")
	p("app %q {\n", name)
	p("  # The code comes from the git repository (or the directory) that holds\n")
	p("  # this file. To deploy from elsewhere:\n")
	p("  # source {\n")
	p("  #   git        = \"https://example.org/%s.git\"\n", name)
	p("  #   branch     = \"main\"\n")
	p("  #   submodules = true\n")
	p("  # }\n")
	p("\n")
	switch kind {
	case KindGeneric:
		p("  # No buildpack applies to this directory yet (plat push would fail).\n")
		p("  # Add a Procfile (`web: command`) and deploy the tree as it is:\n")
		p("  # buildpack = \"none\"\n")
		p("  # or name a buildpack: a built-in, a path or a git URL.\n")
	case KindProcfile:
		p("  # Detected: a Procfile. Its processes run on every host; name a\n")
		p("  # buildpack to build the app first:\n")
		p("  # buildpack = \"python\"\n")
	default:
		p("  # Detected: a %s app. plat detects the buildpack at build time;\n", kind)
		p("  # name it to be explicit, or list several:\n")
		p("  # buildpack = %q\n", kind)
	}
	p("\n")
	p("  # Settings that must not live in the repository, copied into every\n")
	p("  # release (one directory per environment):\n")
	p("  # private = \"../%s-private/${env.name}\"\n", name)
	p("\n")
	p("  # Tasks run at build time (assets, tests) or once per push before the\n")
	p("  # switch (migrations). A failing task stops the push.\n")
	for _, line := range starterTask(kind) {
		p("  # %s\n", line)
	}
	p("\n")
	p("  # How plat knows a host serves the new release: an HTTP path, a TCP\n")
	p("  # connect, or a command. The port defaults to the host's PORT.\n")
	p("  health {\n")
	if kind == KindStatic {
		p("    http    = \"/\"\n")
	} else {
		p("    tcp     = true # or: http = \"/healthz\"\n")
	}
	p("    timeout = \"5s\"\n")
	p("  }\n")
	p("}\n")
	p("\n")
	p("# Two hosts on this machine, nothing to install: each host is a directory\n")
	p("# under .plat/local/local/ running the app's processes on its own port.\n")
	p("environment \"local\" {\n")
	p("  provider \"local\" {}\n")
	p("\n")
	p("  cluster \"web\" {\n")
	p("    count = 2\n")
	p("  }\n")
	p("}\n")
	p("\n")
	p("# Servers over SSH (your ~/.ssh/config, agent and known_hosts apply):\n")
	p("#\n")
	p("# environment \"prod\" {\n")
	p("#   provider \"ssh\" {\n")
	p("#     user = \"deploy\"\n")
	p("#   }\n")
	p("#   deploy_to = \"/srv/${app.name}\"\n")
	p("#\n")
	p("#   cluster \"web\" {\n")
	p("#     hosts = [\"web[1:4].example.org\"] # web1 ... web4\n")
	p("#   }\n")
	p("#\n")
	p("#   rollout {\n")
	p("#     stages     = [1, \"50%%\", \"100%%\"] # a canary host, then half, then all\n")
	p("#     on_failure = \"rollback\"\n")
	p("#   }\n")
	p("# }\n")
	p("\n")
	p("# Environments and clusters your ops team keeps in a repository of their\n")
	p("# own, shared by many apps (the README's Teams section). A git source is\n")
	p("# pinned by commit in plat.lock.hcl; `plat env update` moves the pin.\n")
	p("#\n")
	p("# shared \"ops\" {\n")
	p("#   git = \"git::https://git.example.org/ops/platform.git?ref=v3\" # or: path = \"../ops\"\n")
	p("# }\n")
	p("#\n")
	p("# environment \"stage\" {\n")
	p("#   inherits = \"ops.generic-stage\" # environment \"generic-stage\" of ops\n")
	p("# }\n")
	return b.String()
}

func starterTask(kind string) []string {
	task := func(name, when string, argv ...string) []string {
		q := make([]string, len(argv))
		for i, a := range argv {
			q[i] = fmt.Sprintf("%q", a)
		}
		return []string{
			fmt.Sprintf("task %q {", name),
			fmt.Sprintf("  when = %q", when),
			fmt.Sprintf("  run  = [%s]", strings.Join(q, ", ")),
			"}",
		}
	}
	switch kind {
	case KindPython:
		return append(task("tests", "build", "python3", "-m", "unittest"), task("migrate", "release", "python3", "manage.py", "migrate")...)
	case KindGo:
		return task("tests", "build", "go", "test", "./...")
	case KindNode:
		return append(task("assets", "build", "npm", "run", "build"), task("migrate", "release", "npm", "run", "migrate")...)
	default:
		return task("assets", "build", "sh", "-c", "make assets")
	}
}
