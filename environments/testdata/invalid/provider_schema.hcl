app "a" {}

environment "prod" {
  provider "ssh" {
    user    = "deploy"
    port    = "twenty-two"
    passwrd = "hunter2"
  }
  cluster "web" { hosts = ["web1"] }
}

environment "box" {
  provider "docker" {
    networks = "plat"
  }
  cluster "web" { count = 1 }
}
