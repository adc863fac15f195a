app "a" {
  env = { WHERE = env.name }
}

environment "prod" {
  provider "ssh" { user = host.name }
  deploy_to = "/srv/${host.name}"
  cluster "web" { hosts = [region] }
}
