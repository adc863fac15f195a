app "a" {}

environment "prod" {
  provider "ssh" {}
  cluster "web" { hosts = ["web1"] }
  rollout {
    on_failure = "retry"
  }
}
