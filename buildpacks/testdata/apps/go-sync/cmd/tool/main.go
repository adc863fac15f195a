// Command tool is a second main package, built to bin/tool.
package main

import "fmt"

func main() { fmt.Println("tool ok") }
