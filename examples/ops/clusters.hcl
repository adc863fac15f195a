# The team's machines. Small apps share the generic clusters; a big app
# gets a dedicated cluster of its own. Apps name these clusters through
# the environments below (or with cluster "web" { use = "ops.NAME" }).

cluster "generic-stage" {
  hosts = ["generic[1:2].stage.example.org"]
  roles = ["web", "migrations"]
}

cluster "generic-prod" {
  hosts = ["generic[1:4].prod.example.org"]
  roles = ["web"]
  # The first host also runs each release's migrations, once.
  host "generic1.prod.example.org" {
    roles = ["migrations"]
  }
}

# Dedicated to caseconductor: its traffic would crowd the generic hosts.
cluster "caseconductor-web" {
  hosts = ["cc-web[01:12].prod.example.org"]
  roles = ["web"]
}

cluster "caseconductor-admin" {
  hosts = ["cc-admin1.prod.example.org"]
  roles = ["migrations"]
}
