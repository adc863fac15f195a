environment "local" {
  provider "local" {}
  cluster "web" { count = 1 }
}
