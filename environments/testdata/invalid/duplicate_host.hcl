app "a" {}

environment "prod" {
  provider "ssh" {}
  cluster "web" {
    hosts = ["web1", "web[1:3]"]
  }
  cluster "db" {
    hosts = ["db1"]
    host "web3" {}
  }
}
