package release

import "sort"

// Promotion says where a promoted release's build output comes from.
type Promotion struct {
	Env     string `json:"env"`
	Release string `json:"release"`
	// BuildHash is the build output's hash (BuildHash of the source
	// release's manifest), the same for both releases.
	BuildHash string `json:"build_hash"`
}

// BuildOutput is the manifest without its private files: what the build
// made, the same in every environment it is promoted to.
func BuildOutput(m *Manifest) *Manifest {
	out := &Manifest{}
	for _, e := range m.Entries {
		if e.Kind != KindPrivate {
			out.Entries = append(out.Entries, e)
		}
	}
	return out
}

// BuildHash is the hash of m's build output.
func BuildHash(m *Manifest) string { return BuildOutput(m).Hash() }

// WithPrivate is the build output of m with private's private files
// overlaid instead of m's: a private file replaces whatever m has at its
// path, and private's directories are added where m lacks them. Both
// manifests keep their entries' order (by path).
func WithPrivate(m, private *Manifest) *Manifest {
	over := map[string]Entry{}
	for _, e := range private.Entries {
		over[e.Path] = e
	}
	out := &Manifest{}
	have := map[string]bool{}
	for _, e := range m.Entries {
		if e.Kind == KindPrivate {
			continue
		}
		if p, ok := over[e.Path]; ok && p.Kind == KindPrivate {
			continue
		}
		have[e.Path] = true
		out.Entries = append(out.Entries, e)
	}
	for _, e := range private.Entries {
		if e.Kind == KindPrivate || (e.Kind == KindDir && !have[e.Path]) {
			out.Entries = append(out.Entries, e)
		}
	}
	sort.Slice(out.Entries, func(i, j int) bool { return out.Entries[i].Path < out.Entries[j].Path })
	return out
}
