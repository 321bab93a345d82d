# moltctl — see README.md. `make demo` runs the main job end to end against
# the bundled Cloudflare emulator; `make test` runs every test.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X github.com/moltctl/moltctl/pkg/buildinfo.Version=$(VERSION) \
	-X github.com/moltctl/moltctl/pkg/buildinfo.Commit=$(COMMIT) \
	-X github.com/moltctl/moltctl/pkg/buildinfo.Date=$(DATE)
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.0
GORELEASER ?= github.com/goreleaser/goreleaser/v2@v2.12.7

.PHONY: all build test lint bench bench-smoke demo snapshot docs docs-check fuzz clean

all: build

## build: compile moltctl and cfemu into ./bin
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/moltctl ./cmd/moltctl
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/cfemu ./cmd/cfemu

## test: the whole suite (starts Docker and installs wrangler for the tests that need them)
test:
	bash .ci/test.sh

## lint: go vet and staticcheck
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: moltctl against wrangler, side by side, on the emulator (see docs/benchmarks.md)
bench: build
	bash bench/run.sh

## bench-smoke: one iteration of every benchmark row, as CI runs it
bench-smoke: build
	BENCH_RUNS=1 BENCH_CLEAN_BUILD=false bash bench/run.sh

## demo: deploy the example project to the emulator with the real Docker engine
demo: build
	bash scripts/demo.sh

## snapshot: goreleaser build of every target, without publishing
snapshot:
	$(GO) run $(GORELEASER) release --snapshot --clean

## docs: regenerate the command and manifest references in docs/
docs:
	$(GO) run ./cmd/gendocs docs

## docs-check: fail when docs/ is stale
docs-check:
	$(GO) run ./cmd/gendocs -check docs

## fuzz: run every fuzz target for FUZZTIME (default 30s)
fuzz:
	FUZZTIME=$${FUZZTIME:-30s} bash .ci/fuzz-smoke.sh

clean:
	rm -rf bin dist
