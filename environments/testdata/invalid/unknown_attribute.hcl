app "a" {}

environment "local" {
  provider "local" {}
  deploy_too = "/srv/a"
  cluster "web" { count = 1 }
}
