package swarm

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/providers/docker"
)

// maxDepth is how many release layers an image may stack on its base
// image before plat builds the next one from the base again (each layer
// is a layer every node keeps, and Docker caps an image at 127).
const maxDepth = 8

// ref is the image of a release: in the registry's namespace when one is
// configured, so the nodes pull it from there.
func (p *Provider) ref(n names, release string) string {
	repo := n.Repository()
	if p.cfg.Registry != "" {
		repo = p.cfg.Registry + "/" + repo
	}
	return repo + ":" + n.Tag(release)
}

// buildPlan is how a release image is made.
type buildPlan struct {
	from  string // base image or the base release's image
	depth int
	// add are the entries written (every entry for a full build),
	// remove the paths deleted from the base release's tree.
	add    []platform.TreeEntry
	remove []string
	bytes  int64
	// labels go in one LABEL instruction (one build step).
	labels map[string]string
}

// planBuild makes the image either from the base image with the whole
// tree in one layer, or, when the base release's image is on the daemon,
// shallow enough and most content is unchanged, from that image with one
// layer holding only what changed (and a layer that removes what went).
func planBuild(req *platform.PublishRequest, baseImage string, prevRef string, prevDepth int) buildPlan {
	full := buildPlan{from: baseImage, depth: 1, add: req.Tree}
	for _, e := range req.Tree {
		full.bytes += e.Size
	}
	if prevRef == "" || prevDepth >= maxDepth || req.BaseTree == nil {
		return full
	}
	old := map[string]platform.TreeEntry{}
	for _, e := range req.BaseTree {
		old[e.Path] = e
	}
	d := buildPlan{from: prevRef, depth: prevDepth + 1}
	kept := map[string]bool{}
	for _, e := range req.Tree {
		o, ok := old[e.Path]
		if ok && o.Dir == e.Dir && o.Link == e.Link && o.SHA256 == e.SHA256 && o.Mode == e.Mode {
			kept[e.Path] = true
			continue
		}
		if ok && (o.Dir != e.Dir || (o.Link != "") != (e.Link != "")) {
			d.remove = append(d.remove, e.Path) // the kind changed: remove, then write
		}
		d.add = append(d.add, e)
		d.bytes += e.Size
	}
	newPaths := map[string]bool{}
	for _, e := range req.Tree {
		newPaths[e.Path] = true
	}
	for _, o := range req.BaseTree {
		if !newPaths[o.Path] && !underAny(o.Path, d.remove) {
			d.remove = append(d.remove, o.Path)
		}
	}
	// The parents of what is written go in the layer too, with their
	// modes, so COPY does not make them with its own.
	have := map[string]bool{}
	for _, e := range d.add {
		have[e.Path] = true
	}
	var parents []platform.TreeEntry
	for _, e := range d.add {
		for dir := path.Dir(e.Path); dir != "." && !have[dir]; dir = path.Dir(dir) {
			have[dir] = true
			for _, x := range req.Tree {
				if x.Path == dir {
					parents = append(parents, x)
				}
			}
		}
	}
	d.add = append(parents, d.add...)
	if d.bytes*2 > full.bytes && full.bytes > 0 {
		return full // most content changed: a fresh image is as large and shallower
	}
	return d
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// dockerfile is the build's recipe. Values are JSON (exec) form, so no
// path is ever read by a shell.
func (b buildPlan) dockerfile() string {
	var s strings.Builder
	fmt.Fprintf(&s, "FROM %s\n", b.from)
	if len(b.remove) > 0 {
		argv := []string{"rm", "-rf", "--"}
		for _, r := range b.remove {
			argv = append(argv, AppDir+"/"+r)
		}
		j, _ := json.Marshal(argv)
		fmt.Fprintf(&s, "RUN %s\n", j)
	}
	if len(b.add) > 0 {
		fmt.Fprintf(&s, "COPY tree/ %s/\n", AppDir)
	}
	if len(b.labels) > 0 {
		s.WriteString("LABEL")
		for _, k := range sortedKeys(b.labels) {
			fmt.Fprintf(&s, " %s=%s", k, strconv.Quote(b.labels[k]))
		}
		s.WriteString("\n")
	}
	return s.String()
}

// writeContext writes the build context: the Dockerfile and tree/.
func (b buildPlan) writeContext(w io.Writer, open func(string) (io.ReadCloser, error)) error {
	tw := tar.NewWriter(w)
	// The build's time, to the nanosecond (PAX): the daemon's layer diff
	// may compare size and mtime only, so a changed file of the same size
	// with the base layer's mtime would be left out of the new layer.
	mtime := time.Now()
	df := []byte(b.dockerfile())
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if _, err := tw.Write(df); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "tree/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
		return err
	}
	for _, e := range b.add {
		h := &tar.Header{Name: "tree/" + e.Path, Mode: int64(e.Mode.Perm()), ModTime: mtime, Format: tar.FormatPAX}
		switch {
		case e.Dir:
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case e.Link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.Link
		default:
			h.Typeflag, h.Size = tar.TypeReg, e.Size
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		r, err := open(e.SHA256)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		n, err := io.Copy(tw, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		if n != e.Size {
			return fmt.Errorf("%s: the store has %d bytes, the manifest says %d", e.Path, n, e.Size)
		}
	}
	return tw.Close()
}

// Publish builds the release image (unless the daemon has it) and pushes
// it to the registry when one is configured.
func (p *Provider) Publish(ctx context.Context, req *platform.PublishRequest) (*platform.PublishResponse, error) {
	c, err := docker.Connect(ctx, p.cfg.DockerHost)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	n := namesOf(req.App, req.Env)
	ref := p.ref(n, req.Release.ID)
	progress := req.Progress
	if progress == nil {
		progress = func(string) {}
	}
	note := ""
	if insp, err := c.API().ImageInspect(ctx, ref); err == nil && insp.Config != nil && insp.Config.Labels[LabelManifest] == req.Release.ManifestHash {
		note = "image " + ref + " exists"
	} else {
		if err := checkImage(ctx, c, p.cfg.Image); err != nil {
			return nil, err
		}
		prevRef, prevDepth := "", 0
		if req.Base != "" {
			r := p.ref(n, req.Base)
			if insp, err := c.API().ImageInspect(ctx, r); err == nil && insp.Config != nil {
				prevRef = r
				prevDepth, _ = strconv.Atoi(insp.Config.Labels[LabelDepth])
			}
		}
		plan := planBuild(req, p.cfg.Image, prevRef, prevDepth)
		labels := n.labels()
		labels[LabelRelease] = req.Release.ID
		labels[LabelGitSHA] = req.Release.GitSHA
		labels[LabelManifest] = req.Release.ManifestHash
		labels[LabelDepth] = strconv.Itoa(plan.depth)
		plan.labels = labels
		if err := buildImage(ctx, c, plan, ref, req.Open, progress); err != nil {
			return nil, err
		}
		if plan.from == p.cfg.Image {
			note = fmt.Sprintf("built %s on %s: %d paths, %s in one layer", ref, p.cfg.Image, len(plan.add), human(plan.bytes))
		} else {
			note = fmt.Sprintf("built %s on %s: one layer of %d changed paths (%s), %d removed", ref, plan.from, len(plan.add), human(plan.bytes), len(plan.remove))
		}
	}
	if p.cfg.Registry != "" {
		pushed, existed, err := push(ctx, c, ref)
		if err != nil {
			return nil, err
		}
		note += fmt.Sprintf("; pushed to %s: %d layers sent, %d already there", p.cfg.Registry, pushed, existed)
	}
	return &platform.PublishResponse{Artifact: ref, Note: note}, nil
}

func checkImage(ctx context.Context, c *docker.Client, ref string) error {
	_, err := c.API().ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		hint := "build or load it on this daemon"
		if ref == docker.DefaultImage {
			hint = "build it with `plat image build-base`"
		}
		return fmt.Errorf("base image %s not found: plat never pulls images; %s", ref, hint)
	}
	if err != nil {
		return fmt.Errorf("inspect base image %s: %w", ref, err)
	}
	return nil
}

// buildImage runs the Engine API's (classic) builder on the plan's context.
func buildImage(ctx context.Context, c *docker.Client, plan buildPlan, ref string, open func(string) (io.ReadCloser, error), progress func(string)) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(plan.writeContext(pw, open)) }()
	defer pr.Close()
	resp, err := c.API().ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags: []string{ref}, Remove: true, ForceRemove: true, PullParent: false,
		Version: build.BuilderV1, Dockerfile: "Dockerfile",
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("build image %s: read the daemon's answer: %w", ref, err)
		}
		if m.Error != nil {
			return fmt.Errorf("build image %s: %s", ref, m.Error.Message)
		}
		if line := strings.TrimSpace(m.Stream); strings.HasPrefix(line, "Step ") {
			progress(line)
		}
	}
}

// push sends the image to its registry and counts the layers the registry
// lacked and those it had.
func push(ctx context.Context, c *docker.Client, ref string) (pushed, existed int, err error) {
	auth := base64.URLEncoding.EncodeToString([]byte("{}"))
	resp, err := c.API().ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return 0, 0, fmt.Errorf("push %s: %w", ref, err)
	}
	defer resp.Close()
	for m, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return pushed, existed, fmt.Errorf("push %s: %w", ref, err)
		}
		if m.Error != nil {
			return pushed, existed, fmt.Errorf("push %s: %s", ref, m.Error.Message)
		}
		switch m.Status {
		case "Pushed":
			pushed++
		case "Layer already exists":
			existed++
		}
	}
	return pushed, existed, nil
}

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
