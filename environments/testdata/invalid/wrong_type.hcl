app "a" {
  restart = "kill -HUP 1"
}

environment "local" {
  provider "local" {}
  keep_releases = "five"
  cluster "web" {
    count = 1
    roles = "web"
  }
}
