# plat ssh-config's golden test: what plat resolves for each host, from
# the provider block, host vars and ssh_config (HOME is /home/ada).
app "golden" {
}

environment "prod" {
  provider "ssh" {
    ssh_config      = "ssh_config"
    identity_file   = "keys/deploy"
    connect_timeout = "7s"
  }
  deploy_to = "/srv/golden"
  cluster "web" {
    hosts = ["web1", "web2"]
    host "web2" {
      vars = { user = "admin", port = "2202" }
    }
  }
  cluster "db" {
    hosts = ["db1"]
    host "db1" {
      address = "db1.internal"
    }
  }
}

environment "laptop" {
  provider "local" {}
  deploy_to = "/tmp/golden"
  cluster "web" {
    hosts = ["one"]
  }
}
