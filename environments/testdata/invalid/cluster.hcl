app "a" {}

environment "prod" {
  provider "ssh" {}
  deploy_to = "relative/path"
  cluster "web" {
    hosts = ["web1"]
    count = 2
  }
  cluster "empty" {}
  cluster "zero" { count = 0 }
}

environment "nothing" {
  provider "ssh" {}
}
