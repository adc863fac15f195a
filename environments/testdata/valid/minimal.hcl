app "hello" {}

environment "local" {
  provider "local" {}
  cluster "web" { count = 2 }
}
