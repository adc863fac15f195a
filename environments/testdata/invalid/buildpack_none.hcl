app "site" {
  buildpack = ["none", "static"]
}

environment "local" {
  provider "local" {}
  cluster "web" { count = 1 }
}
