app "a" {}

environment "local" {
  provider "local" {}
  cluster "web" { count = 1 }
  cluster "web" { hosts = ["other"] }
}
