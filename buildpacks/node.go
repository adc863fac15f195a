package buildpacks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

func nodeBuildpack() builtin {
	return builtin{
		name:     "node",
		looksFor: "package.json",
		detect:   func(dir string) bool { return fileExists(dir, "package.json") },
		compile:  compileNode,
	}
}

func compileNode(ctx context.Context, bc *buildContext) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(bc.dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("read package.json: %w", err)
	}
	var pkg struct {
		Scripts map[string]string `json:"scripts"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return nil, fmt.Errorf("read package.json: %w", err)
	}
	npmEnv := map[string]string{
		"NPM_CONFIG_CACHE":           filepath.Join(bc.cacheDir, "npm"),
		"NPM_CONFIG_UPDATE_NOTIFIER": "false",
		"NPM_CONFIG_FUND":            "false",
		"NPM_CONFIG_AUDIT":           "false",
		"NPM_CONFIG_PROGRESS":        "false",
	}
	install := "install"
	if fileExists(bc.dir, "package-lock.json") || fileExists(bc.dir, "npm-shrinkwrap.json") {
		install = "ci"
	}
	if err := bc.run(ctx, npmEnv, "npm", install, "--prefer-offline"); err != nil {
		return nil, fmt.Errorf("install node modules: %w", err)
	}
	if pkg.Scripts["build"] != "" {
		if err := bc.run(ctx, npmEnv, "npm", "run", "build"); err != nil {
			return nil, fmt.Errorf("run build script: %w", err)
		}
	}
	if pkg.Scripts["start"] != "" || fileExists(bc.dir, "server.js") {
		return map[string]string{"web": "npm start"}, nil
	}
	return nil, nil
}
