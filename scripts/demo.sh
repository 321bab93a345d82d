#!/usr/bin/env bash
# make demo: deploy examples/moltworker to the local Cloudflare emulator with
# the real Docker engine, then show the assistant answering. Nothing here
# reaches Cloudflare: every request goes to bin/cfemu on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Building moltctl and the emulator"
make -s build

say "Starting the Cloudflare emulator on 127.0.0.1"
work=$(mktemp -d)
./bin/cfemu -addr 127.0.0.1:0 -cold-start 2s -log "$work/requests.log" >"$work/cfemu.out" 2>&1 &
emu=$!
cleanup() {
  kill "$emu" 2>/dev/null || true
  wait "$emu" 2>/dev/null || true
  rm -rf "$root/examples/moltworker/.moltctl" "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do grep -q '^workers_dev:' "$work/cfemu.out" && break; sleep 0.1; done
sed 's/^/    /' "$work/cfemu.out"
val() { sed -n "s/^$1: //p" "$work/cfemu.out"; }
export CLOUDFLARE_API_BASE_URL=$(val api)
export CLOUDFLARE_ACCOUNT_ID=$(val account)
export CLOUDFLARE_API_TOKEN=$(val token)
export CLOUDFLARE_CONTAINER_REGISTRY=$(val registry)
export MOLTCTL_WORKERS_DEV_URL=$(val workers_dev)
# A made-up key: the emulated gateway never calls Anthropic.
export ANTHROPIC_API_KEY=sk-ant-api03-demo-$(printf '%032d' 0)

say "Making sure Docker answers"
bash .ci/docker.sh

cd examples/moltworker
rm -rf .moltctl
moltctl() { "$root/bin/moltctl" "$@"; }

say "moltctl doctor: every check a deploy needs"
moltctl doctor || true

say "moltctl deploy --dry-run: the plan and the monthly cost, changing nothing"
moltctl deploy --dry-run

say "moltctl deploy --yes: image, Worker, container, Access, R2 token, secrets, then wait"
moltctl deploy --yes

say "moltctl deploy --yes again: nothing to change"
moltctl deploy --yes --log-format kv 2>&1 | grep -E '^step=' || true

say "moltctl status"
moltctl status || true

url=$(moltctl deploy --yes --no-wait --output json 2>/dev/null | sed -n 's/^  "url": "\(.*\)",$/\1/p')
host=${url#http://}; host=${host%%:*}; port=${url##*:}
say "curl $url/api/status without credentials: Access turns it away"
curl -s -o /dev/null -w '    HTTP %{http_code} -> %{redirect_url}\n' --resolve "$host:$port:127.0.0.1" "$url/api/status"
say "curl $url/api/status with moltctl's Access service token"
id=$(sed -n 's/.*"service_token_client_id": "\(.*\)".*/\1/p' .moltctl/moltbot-sandbox/state.json)
secret=$(sed -n 's/.*"service_token_client_secret": "\(.*\)".*/\1/p' .moltctl/moltbot-sandbox/credentials.json)
curl -s --resolve "$host:$port:127.0.0.1" -H "CF-Access-Client-Id: $id" -H "CF-Access-Client-Secret: $secret" \
  -H 'Accept: application/json' "$url/api/status"; echo

say "Requests the emulator served: $(wc -l <"$work/requests.log")"
say "Done; stopping the emulator"
