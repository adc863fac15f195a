app "a" {}

environment "stage" {
  inherits = "prd"
  cluster "web" { hosts = ["s1"] }
}

environment "prod" {
  provider "ssh" {}
  cluster "web" { hosts = ["p1"] }
}
