# The big app: the team's recipe on a dedicated cluster (see
# ../../clusters.hcl). Its private settings stay with the app.
shared "ops" {
  path = "../.."
}

app "caseconductor" {
  buildpack = "python"
  private   = "../caseconductor-private/${env.name}"

  task "migrate" {
    when = "release"
    role = "migrations"
    run  = ["python3", "manage.py", "migrate"]
  }
}

environment "stage" {
  inherits = "ops.generic-stage"
}

environment "prod" {
  inherits = "ops.dedicated-prod"
  rollout {
    stages     = [1, "25%", "100%"]
    pause      = "confirm"
    on_failure = "rollback"
  }
}
