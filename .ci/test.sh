#!/usr/bin/env bash
# The whole test suite: starts what the tests need (a Docker daemon, Node 22
# with wrangler), then vets and tests every package. `make test` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/docker.sh || echo "warning: no Docker daemon; Docker tests will skip unless MOLTCTL_REQUIRE_DOCKER=1" >&2
source .ci/node.sh
go vet ./...
# Release targets that differ from this machine: a file API missing on
# Windows breaks only the release build, so build it here too.
GOOS=windows GOARCH=amd64 go build -o /dev/null ./cmd/moltctl
GOOS=darwin GOARCH=arm64 go build -o /dev/null ./cmd/moltctl
# Fuzz targets run briefly on top of their seed corpora, which `go test` always runs.
go test -race -count=1 -timeout 25m ./... 2>&1 | tee "${TMPDIR:-/tmp}/moltctl-test.log"
bash .ci/fuzz-smoke.sh
