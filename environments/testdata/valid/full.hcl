# Every block and attribute of plat.hcl.
variable "region" {
  type        = string
  default     = "phx1"
  description = "datacenter"
}
variable "web_count" {
  type    = number
  default = 3
}
variable "extra_hosts" {
  type    = list(string)
  default = ["db1", "db2"]
}
variable "tags" {
  type    = map(string)
  default = { team = "ops" }
}

locals {
  domain  = "${var.region}.example.org"
  fqdn    = upper(local.short)
  short   = "app"
  ports   = [for i in range(2) : 9000 + i]
  greet   = format("%s-%d", local.short, var.web_count)
  allenv  = merge(var.tags, { tier = "web" })
  joined  = join(",", concat(var.extra_hosts, ["db3"]))
}

app "shop" {
  source {
    git        = "git@example.org:shop.git"
    branch     = "main"
    ref        = "v1.2.3"
    submodules = false
    dir        = "app"
  }
  buildpack    = ["node", "static"]
  private      = "private/${env.name}"
  restart      = ["systemctl", "reload", "shop"]
  linked_dirs  = ["log", "tmp/pids"]
  linked_files = ["config/database.yml"]
  env = {
    APP_ENV = "production"
    GREET   = local.greet
  }

  task "assets" {
    when = "build"
    run  = ["npm", "run", "build"]
  }
  task "migrate" {
    when    = "release"
    run     = ["npm", "run", "migrate"]
    role    = "db"
    timeout = "5m"
  }
  task "console" {
    when = "manual"
    run  = ["node", "console.js"]
  }

  health {
    command  = ["curl", "-fsS", "http://127.0.0.1:8080/up"]
    port     = 8080
    status   = 204
    timeout  = "2s"
    interval = "250ms"
    retries  = 40
  }
}

environment "base" {
  provider "ssh" {
    user          = "deploy"
    port          = 2222
    identity_file = "~/.ssh/deploy"
    become        = "sudo"
  }
  deploy_to     = "/srv/${app.name}/${env.name}/${host.name}"
  keep_releases = 3
  processes     = "systemd"
  env           = { TIER = lookup(local.allenv, "tier", "none"), REGION = var.region }

  cluster "web" {
    hosts = ["web[01:${var.web_count}].${local.domain}", "cache[1:2]-r[1:2]"]
    roles = ["web", "app"]
    port  = 8000
    host "web02.phx1.example.org" {
      address   = "10.0.0.2"
      deploy_to = "/opt/${host.address}"
      port      = 8001
      roles     = ["canary"]
      vars      = { weight = 5 }
    }
  }
  cluster "db" {
    hosts = var.extra_hosts
    roles = ["db"]
    host "db9" { address = "10.0.0.9" }
  }

  rollout {
    stages        = [1, "10%", 3, "50%"]
    pause         = "confirm"
    max_parallel  = 4
    on_failure    = "halt"
    max_failures  = "10%"
    drain_timeout = "10s"
    health {
      http     = "/ready"
      status   = 200
      interval = "1s"
    }
  }

  hook "starting" {
    run = ["echo", "starting ${env.name}"]
  }
  hook "finished" {
    run = ["notify", "done"]
    on  = "local"
  }
  hook "finished" {
    run = ["logger", "deployed"]
    on  = "hosts"
  }
}

environment "canary" {
  inherits = "base"
  private  = "/etc/shop/canary"
  cluster "web" { count = 2 }
  hook "failed" {
    run = ["page", "oncall"]
  }
}

environment "local" {
  provider "local" { base_port = 9100 }
  cluster "app" {
    host "one" {}
    host "two" { port = 9200 }
  }
}
