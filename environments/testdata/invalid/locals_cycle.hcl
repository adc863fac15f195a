locals {
  a = local.b
  b = "${local.a}-x"
  c = local.nope
}

app "a" {
  env = { A = local.a }
}

environment "local" {
  provider "local" {}
  cluster "web" { count = 1 }
}
