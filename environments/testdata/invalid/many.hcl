# Several mistakes in several places: all of them are reported.
variable "region" {}

app "a" {
  task "t" {
    when = "build"
    run  = ["make"]
  }
  task "t" {
    when = "build"
    run  = ["make"]
  }
}

environment "dev" {
  provider "ssh" { user = ["deploy"] }
  cluster "web" { hosts = ["web[2:1]"] }
}

environment "stage" {
  provider "nope" {}
  cluster "web" { hosts = ["s1"] }
  rollout { stages = ["0%"] }
}

environment "prod" {
  inherits = "production"
  cluster "web" { hosts = ["p1.${var.zone}"] }
  rollout { on_failure = "ignore" }
}

environment "dev" {
  provider "local" {}
  cluster "web" { count = 1 }
}
