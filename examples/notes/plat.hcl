# plat.hcl for notes: one recipe, every environment.

variable "base_port" {
  type        = number
  default     = 8100
  description = "PORT of the first local host"
}

variable "region" {
  type        = string
  default     = "phx1"
  description = "datacenter of the dev/stage/prod servers"
}

app "notes" {
  buildpack = "python"

  # Settings that are not in the public repository, one directory per
  # environment; copied into each release with mode 0600 and versioned.
  private = "../notes-private/${env.name}"

  task "tests" {
    when = "build"
    run  = ["python3", "-m", "unittest", "-q", "test_app"]
  }
  task "assets" {
    when = "build"
    run  = ["python3", "build_assets.py"]
  }
  task "migrate" {
    when = "release"
    run  = ["python3", "migrate.py"]
  }

  linked_dirs = ["db"]

  health {
    http     = "/healthz"
    timeout  = "2s"
    interval = "250ms"
    retries  = 20
  }
}

# The zero-install default: two hosts that are directories under
# .plat/local/local/, their processes running on this machine.
environment "local" {
  provider "local" {
    base_port = var.base_port
  }
  # The hosts share one database, as web servers share a database server.
  env = {
    NOTES_DB = "../notes.sqlite3"
  }
  cluster "web" {
    count = 2
  }
}

# prod's shape and recipe on this machine: two Docker containers (plat up
# laptop creates them from the base image `plat image build-base` makes).
# Containers cannot share the local environment's database file, so each
# host keeps its own in its shared/db (the linked dir) and the web process
# applies the migrations to it at start; the migrate task still runs once
# per push, as on dev and prod.
environment "laptop" {
  provider "docker" {
    image = "plat/base:bookworm"
  }
  deploy_to = "/data/${env.name}/www/${app.name}"
  env = {
    BIND             = "0.0.0.0" # the published port reaches the container's interface
    MIGRATE_ON_START = "1"
  }
  cluster "web" {
    count = 2
  }
}

environment "dev" {
  provider "ssh" {
    user = "deploy"
  }
  deploy_to = "/data/${env.name}/www/${app.name}"
  cluster "web" {
    hosts = ["generic1.dev.example.org", "generic2.dev.example.org"]
  }
}

environment "stage" {
  inherits = "dev"
  cluster "web" {
    hosts = ["generic[1:2].stage.example.org"]
  }
}

environment "prod" {
  inherits  = "dev"
  deploy_to = "/data/prod/www/${app.name}"
  cluster "web" {
    hosts = ["web[1:12].${var.region}.example.org"]
  }
  cluster "admin" {
    hosts = ["admin1.${var.region}.example.org"]
    roles = ["migrations"]
  }
  rollout {
    stages     = [1, "25%", "100%"]
    pause      = "confirm"
    on_failure = "rollback"
  }
}
