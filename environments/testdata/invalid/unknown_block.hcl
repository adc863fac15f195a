app "a" {
  helth {
    http = "/"
  }
}

environment "local" {
  provider "local" {}
  cluster "web" { count = 1 }
}

server "x" {}
