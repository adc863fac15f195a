app "a" {}

environment "prod" {
  provider "ssh" {}
  cluster "web" {
    hosts = [
      "web[3:1].example.org",
      "web[1:x].example.org",
      "web[1:2.example.org",
      "web1].example.org",
      "ok[1:2]",
    ]
  }
}
