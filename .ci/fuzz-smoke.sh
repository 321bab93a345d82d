#!/usr/bin/env bash
# Runs every fuzz target for a few seconds (FUZZTIME) beyond its seed corpus.
# Targets are found in the sources, so only their packages are compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' pkg cmd | while read -r file; do
  dir=./$(dirname "$file")
  for target in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "fuzz $dir $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$dir" >/dev/null
  done
done
