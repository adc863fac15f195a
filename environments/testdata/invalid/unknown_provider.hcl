app "a" {}

environment "prod" {
  provider "shh" { user = "deploy" }
  cluster "web" { hosts = ["web1"] }
}
