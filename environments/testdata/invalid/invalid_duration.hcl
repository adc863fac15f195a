app "a" {
  task "slow" {
    when    = "build"
    run     = ["sleep", "1"]
    timeout = "5 minutes"
  }
  health {
    http    = "/"
    timeout = "-1s"
  }
}

environment "prod" {
  provider "ssh" {}
  cluster "web" { hosts = ["web1"] }
  rollout {
    pause         = "30"
    drain_timeout = "soon"
  }
}
