app "a" {
  task "migrate" {
    when = "release"
    run  = ["true"]
  }
  task "migrate" {
    when = "release"
    run  = ["false"]
  }
}

environment "local" {
  provider "local" {}
  cluster "web" { count = 1 }
}
