# plat: build, test, demo, lint, bench. `make help` lists the targets.
GO       ?= go
BIN      := bin/plat
PKGS     := ./...
# Integration tests start sshd hosts, containers and vagrant machines;
# the timeout bounds a hung test, it is not a speed target.
TESTFLAGS ?= -timeout 45m

.PHONY: help build test demo demo-down lint bench bench-scale bench-smoke base-image proto clean fuzz fuzz-smoke faults release

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/plat
	$(GO) build -o $(BIN) ./cmd/plat

test: ## run the whole test suite (unit and integration)
	$(GO) test $(TESTFLAGS) $(PKGS)

demo: build ## push examples/notes to the local environment and print the URLs that answer
	./$(BIN) -C examples/notes validate
	./$(BIN) -C examples/notes push local

demo-down: build ## stop the demo's processes
	./$(BIN) -C examples/notes down local

lint: ## gofmt, go vet, and sh -n and shellcheck on every tracked .sh file (host scripts: platform/hostcmd/scripts)
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@untracked=$$(git ls-files --others --exclude-standard '*.sh'); if [ -n "$$untracked" ]; then echo "not tracked by git, so not linted: $$untracked"; exit 1; fi
	@for f in $$(git ls-files '*.sh'); do case "$$(head -n 1 "$$f")" in *bash*) bash -n "$$f";; *) sh -n "$$f";; esac || { echo "$$f: syntax error"; exit 1; }; done
	shellcheck $$(git ls-files '*.sh')

bench: ## measure plat push vs parallel rsync on 10 and 50 sshd hosts, then the large-tree pushes (takes minutes); rewrites bench/RESULTS.md
	$(GO) run ./bench/cmd/bench -n 10,50 -runs 5 -out bench/RESULTS.md

bench-scale: ## only the large-tree pushes (100,000 files; a 1 GiB file) on 2 sshd hosts; rewrites the scale section of bench/RESULTS.md
	$(GO) run ./bench/cmd/bench -scale-only -scale-n 2 -out bench/RESULTS.md

bench-smoke: ## the benchmark's CI smoke run (3 hosts, small app, one run)
	$(GO) test -run 'TestBenchSmoke|TestGenerateApp' -v ./bench/

# Every fuzz target, as package:Target (docs/faults.md lists what each covers).
FUZZ_TARGETS := \
	./environments:FuzzLoad \
	./platform:FuzzParseProcfile \
	./platform/release:FuzzParseManifest \
	./platform/release:FuzzStream \
	./platform/engine:FuzzHostState \
	./platform/engine:FuzzLockInfo \
	./providers/ssh:FuzzResolve \
	./providers/vagrant:FuzzParseRecords \
	./providers/vagrant:FuzzParseSSHConfig \
	./plugins:FuzzReadLockFile
FUZZTIME ?= 300x
FUZZPARALLEL ?= 1

fuzz-smoke: ## run every fuzz target for 300 inputs (CI); a crash is saved under the package's testdata/fuzz
	@bash scripts/fuzz.sh $(FUZZTIME) $(FUZZPARALLEL) $(FUZZ_TARGETS)

fuzz: ## run every fuzz target for 2 minutes (FUZZTIME=10m for longer)
	$(MAKE) fuzz-smoke FUZZTIME=$(if $(filter 300x,$(FUZZTIME)),2m,$(FUZZTIME)) FUZZPARALLEL=2

FAULT_TRIALS ?= 20

faults: ## kill plat (SIGKILL, SIGINT) FAULT_TRIALS times in each phase of push and rollback on sshd hosts; rewrites the table in docs/faults.md
	PLAT_FAULT_TRIALS=$(FAULT_TRIALS) PLAT_FAULT_DOC=$(CURDIR)/docs/faults.md $(GO) test -run '^TestKillTrials$$' -count=1 -v -timeout 4h ./cmd/plat

base-image: ## build the Debian base image for the docker and vagrant providers (root, debootstrap)
	$(GO) run ./cmd/plat image build-base

# make release stamps these into the binaries (plat version prints them).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE      ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
DIST      ?= dist
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64

release: ## static binaries for linux and darwin (amd64, arm64) in dist/ with SHA256SUMS
	@bash scripts/release.sh $(DIST) '$(VERSION)' '$(COMMIT)' '$(DATE)' $(PLATFORMS)

clean: ## remove build output
	rm -rf bin dist
