#!/usr/bin/env bash
# make bench: moltctl against wrangler, side by side, on the emulator.
# BENCH_RUNS (default 5) and BENCH_LATENCY (default 50ms) tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/docker.sh >/dev/null || echo "warning: no Docker daemon; image rows will fail" >&2
source .ci/node.sh >/dev/null
go run ./bench -clean-build="${BENCH_CLEAN_BUILD:-true}" -runs "${BENCH_RUNS:-5}" -latency "${BENCH_LATENCY:-50ms}" -out "${BENCH_OUT:-bench/results}"
