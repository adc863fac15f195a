package buildpacks

import (
	"context"
	"fmt"
)

// staticDirs are where the static buildpack looks for index.html, in order.
var staticDirs = []string{".", "public", "site"}

func staticBuildpack() builtin {
	return builtin{
		name:     "static",
		looksFor: "index.html at the root, in public/ or in site/",
		detect:   func(dir string) bool { return staticSiteDir(dir) != "" },
		compile: func(_ context.Context, bc *buildContext) (map[string]string, error) {
			site := staticSiteDir(bc.dir)
			if site == "" {
				return nil, fmt.Errorf("find the site: no index.html at the root, in public/ or in site/")
			}
			bc.out.printf("       serving %s/ with python3 -m http.server\n", site)
			// python3 is on every target image; the site needs nothing else.
			return map[string]string{
				"web": "python3 -m http.server $PORT --bind 0.0.0.0 --directory " + site,
			}, nil
		},
	}
}

func staticSiteDir(dir string) string {
	for _, d := range staticDirs {
		if fileExists(dir, d, "index.html") {
			return d
		}
	}
	return ""
}

func procfileBuildpack() builtin {
	return builtin{
		name:     "procfile",
		looksFor: "Procfile",
		detect:   func(dir string) bool { return fileExists(dir, "Procfile") },
		compile: func(_ context.Context, bc *buildContext) (map[string]string, error) {
			if !fileExists(bc.dir, "Procfile") {
				return nil, fmt.Errorf("read Procfile: the procfile buildpack needs a Procfile in %s", bc.dir)
			}
			bc.out.printf("       nothing to build\n")
			return nil, nil
		},
	}
}
