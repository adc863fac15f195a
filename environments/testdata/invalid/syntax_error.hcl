app "a" {
  buildpack = "python
}
