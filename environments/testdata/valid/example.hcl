# The example of DESIGN.md "The HCL", with its one-line task blocks
# written out (HCL allows one argument per single-line block).
variable "region" { default = "phx1" }

app "caseconductor" {
  source { # optional: default is the git repo holding plat.hcl
    git        = "https://example.org/caseconductor.git"
    branch     = "main"
    submodules = true
  }
  buildpack = "python"
  private   = "../caseconductor-private/${env.name}"

  task "assets" {
    when = "build"
    run  = ["python3", "manage.py", "collectstatic"]
  }
  task "migrate" {
    when = "release"
    run  = ["python3", "manage.py", "migrate"]
  }
  task "tests" {
    when = "build"
    run  = ["python3", "-m", "unittest"]
  }

  health {
    http    = "/healthz"
    port    = 8000
    timeout = "5s"
  }
  restart = ["sh", "-c", "kill -HUP $(cat /run/app.pid)"]
}

environment "laptop" {
  provider "docker" { image = "plat/base:bookworm" }
  cluster "web" { count = 2 }
}

environment "dev" {
  provider "ssh" { user = "deploy" }
  deploy_to = "/data/${env.name}/www/${app.name}"
  cluster "web" {
    hosts = ["generic1.dev.example.org", "generic2.dev.example.org"]
    host "generic2.dev.example.org" { deploy_to = "/srv/caseconductor" }
  }
}

environment "stage" {
  inherits = "dev"
  cluster "web" { hosts = ["stage[01:02].example.org"] }
}

environment "prod" {
  inherits  = "dev"
  deploy_to = "/data/prod/www/caseconductor"
  cluster "web" { hosts = ["web[1:12].${var.region}.example.org"] }
  rollout {
    stages     = [1, "25%", "100%"]
    pause      = "30s"
    on_failure = "rollback"
  }
}
