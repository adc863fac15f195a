package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// AppSpec sizes the generated app. The same spec always gives the same
// tree and the same commit.
type AppSpec struct {
	Seed  uint64
	Files int   // regular files in the tree, about
	Bytes int64 // total content size, about
}

// DefaultApp is the benchmark's app: about 5,000 files and 75 MB.
func DefaultApp() AppSpec { return AppSpec{Seed: 1, Files: 5000, Bytes: 75 << 20} }

// SmokeApp is a small app for the CI smoke run.
func SmokeApp() AppSpec { return AppSpec{Seed: 1, Files: 300, Bytes: 3 << 20} }

// AppInfo describes a generated app.
type AppInfo struct {
	Dir    string
	Files  int
	Bytes  int64
	Binary int64 // bytes of incompressible content
	// Gzipped is the size of every file gzipped on its own (level 1),
	// the floor for a cold push.
	Gzipped int64
	Commit  string
}

// fileKind says what a generated file holds.
type fileKind int

const (
	kindCode fileKind = iota
	kindHTML
	kindCSS
	kindJS
	kindText
	kindBinary
)

type plannedFile struct {
	path string
	kind fileKind
	size int64
	mode os.FileMode
}

// category is one part of the tree: a share of the files, their mean
// size (before scaling text to the byte budget) and how paths look.
type category struct {
	share float64
	mean  float64
	kind  fileKind
	path  func(r *rand.Rand, i int) string
}

var modules = []string{"accounts", "billing", "catalog", "checkout", "search", "reports", "notifications",
	"inventory", "shipping", "reviews", "support", "analytics", "admin", "api", "auth", "cms", "payments",
	"profiles", "orders", "coupons", "feeds", "media", "audit", "exports", "imports", "scheduler", "webhooks",
	"tenants", "ledger", "pricing", "sessions", "i18n", "emails", "jobs", "metrics", "flags", "uploads", "wiki",
	"forums", "tags"}

var appFiles = []string{"models", "views", "urls", "forms", "admin", "serializers", "signals", "tasks",
	"services", "selectors", "permissions", "utils", "apps", "managers", "validators", "filters"}

var vendorPkgs = []string{"django", "rest_framework", "celery", "kombu", "redis", "requests", "urllib3",
	"idna", "certifi", "charset_normalizer", "jinja2", "markupsafe", "pytz", "dateutil", "six", "sqlparse",
	"asgiref", "psycopg", "pillow", "lxml", "bleach", "html5lib", "webencodings", "boto3", "botocore",
	"s3transfer", "jmespath", "yaml", "click", "werkzeug", "itsdangerous", "sentry_sdk", "structlog",
	"gunicorn", "whitenoise", "stripe", "phonenumbers", "babel", "markdown", "pygments", "attr", "cattrs",
	"pydantic", "typing_extensions", "anyio", "sniffio", "h11", "httpx", "httpcore", "cryptography",
	"cffi", "pycparser", "oauthlib", "jwt", "tzdata", "packaging", "pyparsing", "simplejson", "ujson", "tqdm"}

var vendorSub = []string{"core", "utils", "contrib", "backends", "db", "http", "middleware", "template",
	"forms", "views", "internal", "compat", "parsers", "handlers", "serializers", "fields", "cache", "auth"}

func plan(spec AppSpec, r *rand.Rand) []plannedFile {
	cats := []category{
		{0.30, 9000, kindCode, func(r *rand.Rand, i int) string {
			m := modules[i%len(modules)]
			switch i / len(modules) % 4 {
			case 0, 1:
				return fmt.Sprintf("app/%s/%s_%d.py", m, appFiles[r.IntN(len(appFiles))], i)
			case 2:
				return fmt.Sprintf("app/%s/tests/test_%s_%d.py", m, appFiles[r.IntN(len(appFiles))], i)
			default:
				return fmt.Sprintf("app/%s/migrations/%04d_auto_%d.py", m, i/len(modules), i)
			}
		}},
		{0.08, 5000, kindHTML, func(r *rand.Rand, i int) string {
			return fmt.Sprintf("templates/%s/%s_%d.html", modules[i%len(modules)], appFiles[r.IntN(len(appFiles))], i)
		}},
		{0.015, 18000, kindCSS, func(r *rand.Rand, i int) string {
			return fmt.Sprintf("static/css/%s-%d.css", modules[i%len(modules)], i)
		}},
		{0.04, 14000, kindJS, func(r *rand.Rand, i int) string {
			if i%5 == 0 {
				return fmt.Sprintf("static/js/vendor/%s-%d.min.js", vendorPkgs[i%len(vendorPkgs)], i)
			}
			return fmt.Sprintf("static/js/%s/%s-%d.js", modules[i%len(modules)], appFiles[r.IntN(len(appFiles))], i)
		}},
		{0.05, 24000, kindBinary, func(r *rand.Rand, i int) string {
			ext := []string{"png", "jpg", "webp", "gif"}[i%4]
			return fmt.Sprintf("static/img/%s/%s-%d.%s", modules[i%len(modules)], appFiles[r.IntN(len(appFiles))], i, ext)
		}},
		{0.004, 50000, kindBinary, func(r *rand.Rand, i int) string {
			return fmt.Sprintf("static/fonts/font-%d.woff2", i)
		}},
		{0.005, 40000, kindText, func(r *rand.Rand, i int) string {
			return fmt.Sprintf("locale/l%02d/LC_MESSAGES/django-%d.po", i%12, i)
		}},
		{0.02, 6000, kindText, func(r *rand.Rand, i int) string {
			return fmt.Sprintf("docs/%s/%s-%d.md", modules[i%len(modules)], appFiles[r.IntN(len(appFiles))], i)
		}},
		{0.486, 8000, kindCode, func(r *rand.Rand, i int) string {
			// Each package has three subpackages, each with one nested
			// package: about seven files per directory, as in real
			// vendor trees.
			k := i % len(vendorPkgs)
			var b strings.Builder
			b.WriteString("vendor/" + vendorPkgs[k])
			switch d := r.IntN(10); {
			case d < 3:
			case d < 8:
				b.WriteString("/" + vendorSub[(k+i/len(vendorPkgs)%3)%len(vendorSub)])
			default:
				b.WriteString("/" + vendorSub[(k+i/len(vendorPkgs)%3)%len(vendorSub)] + "/" + vendorSub[(k+5)%len(vendorSub)])
			}
			fmt.Fprintf(&b, "/%s_%d.py", vendorSub[r.IntN(len(vendorSub))], i)
			return b.String()
		}},
	}
	var files []plannedFile
	for _, c := range cats {
		n := int(math.Round(c.share * float64(spec.Files)))
		if n < 1 {
			n = 1
		}
		for i := 0; i < n; i++ {
			// Log-normal sizes: many small files, a few large ones.
			size := c.mean * math.Exp(r.NormFloat64()*0.8-0.32)
			files = append(files, plannedFile{path: c.path(r, i), kind: c.kind, size: int64(size) + 64, mode: 0o644})
		}
	}
	// A few multi-MB binaries (videos, a data bundle): about a quarter of
	// the bytes, incompressible.
	bigShare := []float64{0.04, 0.053, 0.08, 0.093}
	for i, s := range bigShare {
		name := []string{"static/media/intro.mp4", "static/media/tour.webm", "static/data/geo.bin", "static/media/promo.mp4"}[i]
		files = append(files, plannedFile{path: name, kind: kindBinary, size: int64(s * float64(spec.Bytes)), mode: 0o644})
	}
	files = append(files,
		plannedFile{path: "manage.py", kind: kindCode, size: 700, mode: 0o755},
		plannedFile{path: "bin/release.sh", kind: kindText, size: 900, mode: 0o755},
		plannedFile{path: "requirements.txt", kind: kindText, size: 1500, mode: 0o644},
		plannedFile{path: "README.md", kind: kindText, size: 4000, mode: 0o644},
	)
	// Scale the small files so the total hits the byte budget.
	var fixed, scalable int64
	for _, f := range files {
		if f.size > 1<<20 {
			fixed += f.size
		} else {
			scalable += f.size
		}
	}
	k := float64(spec.Bytes-fixed) / float64(scalable)
	for i := range files {
		if files[i].size <= 1<<20 {
			files[i].size = max(16, int64(float64(files[i].size)*k))
		}
	}
	// Paths are unique by construction (the index is in every name); sort
	// so generation order does not depend on the category order.
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files
}

// GenerateApp writes the app into dir (which must not exist or be empty)
// and commits it to a new git repository there, with fixed author, dates
// and content: the same spec gives the same commit id every time.
func GenerateApp(ctx context.Context, dir string, spec AppSpec) (*AppInfo, error) {
	info, err := WriteTree(dir, spec)
	if err != nil {
		return nil, err
	}
	// plat.hcl is written by the driver (it names the fleet's paths) and
	// stays out of the commit, so the commit is the same every run.
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("/plat.hcl\n/.plat/\n"), 0o644); err != nil {
		return nil, err
	}
	if _, err := gitRun(ctx, dir, "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	if _, err := gitRun(ctx, dir, "add", "-A"); err != nil {
		return nil, err
	}
	if _, err := gitRun(ctx, dir, "commit", "-q", "-m", "app"); err != nil {
		return nil, err
	}
	sha, err := gitRun(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	info.Commit = strings.TrimSpace(sha)
	return info, nil
}

// WriteTree writes the app's files into dir, without git: the same spec
// always gives the same bytes.
func WriteTree(dir string, spec AppSpec) (*AppInfo, error) {
	r := rand.New(rand.NewPCG(spec.Seed, 0x706c6174))
	files := plan(spec, r)
	info := &AppInfo{Dir: dir}
	words := vocabulary(r, 600)
	var zbuf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zbuf, gzip.BestSpeed)
	for i, f := range files {
		var data []byte
		if f.kind == kindBinary {
			data = make([]byte, f.size)
			cr := rand.NewChaCha8(seed32(spec.Seed, uint64(i)))
			_, _ = cr.Read(data)
			info.Binary += f.size
		} else {
			data = text(r, words, f.kind, int(f.size))
		}
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, data, f.mode); err != nil {
			return nil, err
		}
		zbuf.Reset()
		zw.Reset(&zbuf)
		_, _ = zw.Write(data)
		_ = zw.Close()
		info.Gzipped += int64(zbuf.Len())
		info.Files++
		info.Bytes += int64(len(data))
	}
	// No buildpack work: the procfile buildpack, and no processes, so a
	// push measures transfer and switch, not an interpreter's start-up.
	procfile := "# No processes: the benchmark measures transfer and switch.\n"
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte(procfile), 0o644); err != nil {
		return nil, err
	}
	info.Files++
	info.Bytes += int64(len(procfile))
	return info, nil
}

func seed32(seed, i uint64) [32]byte {
	var s [32]byte
	for k := 0; k < 8; k++ {
		s[k] = byte(seed >> (8 * k))
		s[8+k] = byte(i >> (8 * k))
	}
	copy(s[16:], "plat-bench-bytes")
	return s
}

// ChangeFiles edits three files of the app (a module, a template and a
// stylesheet; different ones each round) and commits them. It returns the
// changed paths and their contents gzipped on their own (level 1), the
// floor of what an incremental push sends per host.
func ChangeFiles(ctx context.Context, dir string, round int) (paths []string, gzipped int64, err error) {
	out, err := gitRun(ctx, dir, "ls-files")
	if err != nil {
		return nil, 0, err
	}
	var code, html, css []string
	for _, p := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(p, "app/") && strings.HasSuffix(p, ".py"):
			code = append(code, p)
		case strings.HasPrefix(p, "templates/"):
			html = append(html, p)
		case strings.HasPrefix(p, "static/css/"):
			css = append(css, p)
		}
	}
	if len(code) == 0 || len(html) == 0 || len(css) == 0 {
		return nil, 0, fmt.Errorf("change files in %s: the app has no module, template or stylesheet", dir)
	}
	paths = []string{code[(round*7)%len(code)], html[(round*5)%len(html)], css[(round*3)%len(css)]}
	var zbuf bytes.Buffer
	for _, p := range paths {
		f := filepath.Join(dir, filepath.FromSlash(p))
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, 0, err
		}
		comment := map[bool]string{true: "/* round %d */\n", false: "# round %d\n"}[strings.HasSuffix(p, ".css")]
		if strings.HasSuffix(p, ".html") {
			comment = "<!-- round %d -->\n"
		}
		data = append(data, fmt.Sprintf(comment, round)...)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			return nil, 0, err
		}
		zbuf.Reset()
		zw, _ := gzip.NewWriterLevel(&zbuf, gzip.BestSpeed)
		_, _ = zw.Write(data)
		_ = zw.Close()
		gzipped += int64(zbuf.Len())
	}
	if _, err := gitRun(ctx, dir, append([]string{"add", "--"}, paths...)...); err != nil {
		return nil, 0, err
	}
	if _, err := gitRun(ctx, dir, "commit", "-q", "-m", fmt.Sprintf("change round %d", round)); err != nil {
		return nil, 0, err
	}
	return paths, gzipped, nil
}

// gitRun runs git in dir with a fixed identity and clock.
func gitRun(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.org",
		"GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.org",
		"GIT_AUTHOR_DATE=2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2024-01-01T00:00:00Z",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s in %s: %v: %s", args[0], dir, err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// vocabulary makes n pseudo-words from syllables.
func vocabulary(r *rand.Rand, n int) []string {
	syl := []string{"ac", "count", "user", "or", "der", "pro", "file", "get", "set", "val", "id", "item",
		"list", "cache", "re", "quest", "resp", "data", "form", "field", "model", "view", "ser", "ial",
		"iz", "er", "man", "age", "price", "ship", "ment", "log", "time", "stamp", "key", "tok", "en",
		"auth", "perm", "is", "sion", "grp", "tax", "rate", "sum", "tot", "al", "cur", "ren", "cy"}
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		k := 1 + r.IntN(3)
		var b strings.Builder
		for j := 0; j < k; j++ {
			if j > 0 && r.IntN(3) == 0 {
				b.WriteByte('_')
			}
			b.WriteString(syl[r.IntN(len(syl))])
		}
		w := b.String()
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// text makes about size bytes of source-like text of a kind.
func text(r *rand.Rand, words []string, kind fileKind, size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 128)
	w := func() string { return words[r.IntN(len(words))] }
	indent := 0
	for b.Len() < size {
		switch kind {
		case kindHTML:
			fmt.Fprintf(&b, "%s<div class=\"%s-%s\">{{ %s.%s }} {%% if %s %%}<a href=\"/%s/%d\">%s</a>{%% endif %%}</div>\n",
				strings.Repeat("  ", indent), w(), w(), w(), w(), w(), w(), r.IntN(10000), w())
		case kindCSS:
			fmt.Fprintf(&b, ".%s-%s { margin: %dpx %dpx; color: #%06x; %s: %s; }\n", w(), w(), r.IntN(40), r.IntN(40), r.IntN(1<<24), w(), w())
		case kindJS:
			fmt.Fprintf(&b, "%sconst %s = %s(%s, %d).then((%s) => %s.%s(%q));\n",
				strings.Repeat("  ", indent), w(), w(), w(), r.IntN(100000), w(), w(), w(), w())
		case kindText:
			fmt.Fprintf(&b, "%s %s %s %s %s, %s %s %d %s.\n", w(), w(), w(), w(), w(), w(), w(), r.IntN(1000), w())
		default:
			switch r.IntN(6) {
			case 0:
				indent = r.IntN(2)
				fmt.Fprintf(&b, "\n%sdef %s(self, %s, %s=None):\n", strings.Repeat("    ", indent), w(), w(), w())
				indent++
			case 1:
				fmt.Fprintf(&b, "%s%s = %s.%s(%s, %s=%d)\n", strings.Repeat("    ", indent), w(), w(), w(), w(), w(), r.IntN(100000))
			case 2:
				fmt.Fprintf(&b, "%sif %s.%s is not None and %s > %d:\n%s    return %s(%q)\n",
					strings.Repeat("    ", indent), w(), w(), w(), r.IntN(1000), strings.Repeat("    ", indent), w(), w()+"-"+w())
			case 3:
				fmt.Fprintf(&b, "%s# %s %s %s %s %x\n", strings.Repeat("    ", indent), w(), w(), w(), w(), r.Uint32())
			case 4:
				fmt.Fprintf(&b, "%sfor %s in %s.%s():\n%s    %s.append(%s[%d])\n",
					strings.Repeat("    ", indent), w(), w(), w(), strings.Repeat("    ", indent), w(), w(), r.IntN(64))
			default:
				fmt.Fprintf(&b, "%sreturn {%q: %s, %q: %s.%s}\n", strings.Repeat("    ", indent), w(), w(), w(), w(), w())
			}
		}
	}
	return b.Bytes()
}
