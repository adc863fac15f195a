app "a" {
  health {
    http = "/healthz"
    tcp  = true
  }
}

environment "prod" {
  provider "ssh" {}
  cluster "web" { hosts = ["web1"] }
  rollout {
    health {
      port = 70000
    }
  }
}
