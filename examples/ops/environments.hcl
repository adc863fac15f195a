# Environments every app of the team inherits. Names here are relative to
# this repository: an app's plat.hcl writes ops.generic-prod.
#
# The files are data: plat reads them, never runs them. They set no
# private settings, secrets or hooks: those stay in each app's plat.hcl.

# How the team deploys: over SSH as deploy, one directory per
# environment and app, so many apps share a host without meeting.
environment "generic" {
  provider "ssh" {
    user = "deploy"
  }
  deploy_to     = "/data/${env.name}/www/${app.name}"
  keep_releases = 5
  processes     = "systemd"
}

environment "generic-stage" {
  inherits = "generic"
  cluster "web" {
    use = "generic-stage"
  }
}

environment "generic-prod" {
  inherits = "generic"
  cluster "web" {
    use = "generic-prod"
  }
  rollout {
    stages     = [1, "50%", "100%"]
    pause      = "30s"
    on_failure = "rollback"
  }
}

# The big app's prod: the generic recipe on its dedicated cluster.
environment "dedicated-prod" {
  inherits = "generic-prod"
  cluster "web" {
    use = "caseconductor-web"
  }
  cluster "admin" {
    use = "caseconductor-admin"
  }
}
