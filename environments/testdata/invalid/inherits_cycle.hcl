app "a" {}

environment "a" {
  inherits = "c"
}

environment "b" {
  inherits = "a"
}

environment "c" {
  inherits = "b"
}

environment "d" {
  inherits = "d"
}

environment "e" {
  inherits = "a"
}
