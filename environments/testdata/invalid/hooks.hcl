app "a" {
  task "x" {
    when = "later"
    run  = []
  }
}

environment "local" {
  provider "local" {}
  processes = "docker"
  cluster "web" { count = 1 }
  hook "finish" {
    run = ["true"]
  }
  hook "failed" {
    on = "everywhere"
  }
}
