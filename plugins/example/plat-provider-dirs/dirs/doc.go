// Package dirs is the "dirs" provider of the example plugin
// plat-provider-dirs: each host of an environment is the directory
// <root>/<host name>, on this machine or, with via = "user@host", on a
// machine reached through the ssh binary (BatchMode, so ~/.ssh/config, the
// agent and known_hosts apply and nothing prompts). Commands run in that
// directory by default. Up creates the directories, Down with destroy
// removes them, Machines reports whether they exist.
//
// It is written against the plain platform interfaces only; main.go serves
// it with plugins/sdk, and tests use it in-process as well.
package dirs
