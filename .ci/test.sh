#!/usr/bin/env bash
# The whole test suite: starts what the tests need (a Docker daemon, Node 22
# with wrangler), then vets and tests every package. `make test` runs this.
# Each phase prints its time, and the slowest test packages are listed at
# the end, so what makes CI slow stays visible.
set -euo pipefail
cd "$(dirname "$0")/.."

phase() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  printf '== %s: %d s\n' "$name" $((SECONDS - start))
}

phase "docker" bash .ci/docker.sh || echo "warning: no Docker daemon; Docker tests will skip unless MOLTCTL_REQUIRE_DOCKER=1" >&2
start=$SECONDS
source .ci/node.sh
printf '== node and wrangler: %d s\n' $((SECONDS - start))
phase "go vet" go vet ./...
# Release targets that differ from this machine: a file API missing on
# Windows breaks only the release build, so build it here too.
phase "windows build" env GOOS=windows GOARCH=amd64 go build -o /dev/null ./cmd/moltctl
phase "darwin build" env GOOS=darwin GOARCH=arm64 go build -o /dev/null ./cmd/moltctl
log="${TMPDIR:-/tmp}/moltctl-test.log"
phase "go test -race" bash -c "set -o pipefail; go test -race -count=1 -timeout 25m ./... 2>&1 | tee '$log'"
echo "slowest test packages (run time, after their build):"
grep -E '^(ok|FAIL)[[:space:]]' "$log" | awk '{print $3, $2}' | sort -rn | head -n 8 | sed 's/^/  /'
# Fuzz targets run briefly on top of their seed corpora, which `go test` always runs.
phase "fuzz smoke" bash .ci/fuzz-smoke.sh
