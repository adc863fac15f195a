// Package release builds and stores releases: the manifest of a release
// tree (path, kind, mode, size, SHA-256), the diff between two manifests,
// the local content-addressed store, and the upload stream a host extracts.
package release
