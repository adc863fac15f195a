app "a" {}

environment "prod" {
  provider "ssh" {
    connect_timeout        = "10"
    server_alive_interval  = "-2s"
    server_alive_count_max = "many"
  }
  cluster "web" { hosts = ["web1"] }
}
