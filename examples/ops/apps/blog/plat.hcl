# A small app on the generic clusters. In real life it lives in its own
# repository and names the ops repository by git:
#
#   shared "ops" {
#     git = "git::https://git.example.org/ops/platform.git?ref=v3"
#   }
#
# Here the example points at the directory beside it.
shared "ops" {
  path = "../.."
}

app "blog" {
  health {
    http = "/healthz"
  }
}

environment "stage" {
  inherits = "ops.generic-stage"
}

environment "prod" {
  inherits = "ops.generic-prod"
  env = {
    BLOG_CACHE = "on"
  }
}
