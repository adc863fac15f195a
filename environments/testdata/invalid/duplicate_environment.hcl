app "a" {}

environment "local" {
  provider "local" {}
  cluster "web" { count = 1 }
}

environment "local" {
  provider "local" {}
  cluster "web" { count = 2 }
}
