// Package environments loads plat.hcl into the typed model of package
// platform: the app, its environments, their clusters and hosts, the
// rollout policy and the provider configuration. Every mistake in the file
// becomes an hcl.Diagnostic with a source range; Load collects all of them
// before returning, so a user sees every error of a file at once.
//
// # Scope
//
// Expressions may call the go-cty stdlib functions under their Terraform
// names (upper, join, format, merge, ...) and refer to:
//
//   - var.NAME   input variables (variable blocks), everywhere but in
//     variable defaults;
//   - local.NAME values of locals blocks (which may use var.* and other
//     locals; cycles are diagnostics);
//   - env.name   the environment being loaded, inside environment blocks
//     and in app.private;
//   - app.name   the app's name, inside the app and environment blocks;
//   - host.name, host.address  only in deploy_to (environment or host
//     block), evaluated once per host.
//
// Variables follow Terraform's precedence, lowest first: the default,
// PLAT_VAR_<name> from the environment, each --var-file in order, then
// --var. Values given as strings (--var, PLAT_VAR_) are taken literally for
// primitive and untyped variables and parsed as HCL expressions for
// collection types, e.g. --var 'regions=["a","b"]'.
//
// # Inheritance
//
// An environment with inherits = "parent" obeys one rule:
//
//	The child starts from the fully resolved parent (the parent's own
//	inheritance applied first). Every attribute the child sets replaces
//	the parent's. Every nested block type the child declares (provider,
//	cluster, rollout, hook) replaces ALL of the parent's blocks of that
//	type, wholesale. Whatever the child leaves unset is inherited.
//
// Inherited expressions are evaluated in the child: env.name is the
// child's name, so deploy_to = "/data/${env.name}/www" in dev becomes
// /data/prod/www in a prod that inherits dev. A missing parent or a cycle
// is a diagnostic on the inherits attribute.
//
// # Shared definitions
//
// A shared "NAME" block (git = "git::URL?ref=REF" or path = "DIR")
// reads the environment and cluster blocks of another directory or git
// repository (its top-level *.hcl files). plat.hcl names them NAME.x:
// inherits = "ops.generic-prod", cluster "web" { use = "ops.generic" };
// inside the source they name each other without the prefix. Shared
// environments follow the inheritance rule above, are evaluated in the
// app's environment, and cannot set private, secret or hook; an env
// attribute from a source never overrides the app block's variables.
// Only plat.hcl's own environments are loaded into the project. A git
// source is fetched with the git CLI into Options.CacheDir and pinned by
// commit in the lock file beside plat.hcl (plat.lock.hcl); see Source and
// Options.Update. Its files are named <source>@<short commit>:<file> in
// diagnostics and origins (Files.Origins).
//
// # Hosts
//
// A cluster lists hosts (hosts = ["web[1:12].example.org", "db1"], where
// [a:b] expands to a..b inclusive, keeping the zero padding of a, as in
// web[01:12]) or counts them (count = 3 names them <cluster>1..3). A host
// block overrides one listed host, or adds one when its name is not
// listed. A host's roles are its cluster's roles plus its own; its port is
// its own, else the cluster's; its address defaults to its name. Host
// names are unique within an environment.
//
// # Defaults
//
// keep_releases 5; processes "plat"; deploy_to "/srv/<app>" for every
// provider but local (which keeps hosts under .plat/local and leaves
// deploy_to empty unless set); rollout: one stage "100%", on_failure
// "rollback", restart "stop-start" (or "overlap": see
// platform.RestartOverlap), health = the app's health check (a health block inside
// rollout is a complete check of its own, not merged with the app's);
// health checks: timeout 5s, interval 500ms, 20 retries; drain_timeout
// 10s. The values live in platform/defaults.go (platform.FillDefaults fills
// them in). Each host's port is its own, else the provider's
// (platform.ResolveHosts with its Schema.Hosts: the app's health port or
// 8000, or for local base_port counting up in declaration order). When the last
// rollout stage is not "100%", a final "100%" stage is appended. A hook
// runs locally unless on = "hosts".
package environments
