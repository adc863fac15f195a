variable "region" { default = "phx1" }

app "a" {}

environment "prod" {
  provider "ssh" { user = var.usr }
  cluster "web" { hosts = ["web1.${var.regoin}.example.org"] }
}
