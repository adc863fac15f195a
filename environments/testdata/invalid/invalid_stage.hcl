app "a" {}

environment "prod" {
  provider "ssh" {}
  cluster "web" { hosts = ["web[1:4]"] }
  rollout {
    stages = [
      "110%",
      0,
      "abc",
      "25%",
      1.5,
    ]
    max_failures = "lots"
  }
}
