# The override rule, level by level: grandchild -> child -> parent.
app "chain" {
  health { tcp = true }
}

environment "parent" {
  provider "ssh" {
    user   = "deploy"
    become = "sudo"
  }
  deploy_to     = "/srv/${env.name}"
  keep_releases = 7
  env           = { A = "1", B = "2" }
  cluster "web" { hosts = ["p1", "p2"] }
  cluster "db" { hosts = ["pdb"] }
  rollout {
    stages = [1, "100%"]
    pause  = "5s"
  }
  hook "finished" { run = ["echo", "parent"] }
}

environment "child" {
  inherits = "parent"
  # An attribute replaces the parent's (env is one attribute: no merge).
  env = { C = "3" }
  # One cluster block replaces both of the parent's.
  cluster "web" { hosts = ["c1"] }
  # The provider block is replaced wholesale: become is gone.
  provider "ssh" { user = "child" }
}

environment "grandchild" {
  inherits      = "child"
  keep_releases = 2
  rollout {
    on_failure = "halt"
  }
}
