#!/usr/bin/env bash
# Makes sure a Docker daemon answers: installs Debian's docker.io and starts
# dockerd when none does. Used by .ci/run and `make demo`.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  docker version --format 'Docker daemon {{.Server.Version}} (API {{.Server.APIVersion}}) already running'
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "no Docker daemon answers and dockerd cannot be installed here (needs root and apt-get)" >&2
    exit 1
  fi
  echo "installing docker.io from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
echo "starting dockerd"
log=${TMPDIR:-/tmp}/moltctl-dockerd.log
# setsid: the daemon outlives the shell (and process group) that started it.
setsid nohup dockerd >"$log" 2>&1 </dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    docker version --format 'Docker daemon {{.Server.Version}} (API {{.Server.APIVersion}}) started'
    exit 0
  fi
  sleep 1
done
echo "dockerd did not start; its log:" >&2
tail -n 30 "$log" >&2
exit 1
