# Sourced: installs Node 22 and a pinned wrangler from the npm registry into
# a cache directory (once per machine) and puts them first on PATH.
# The machine's Node 20 would resolve wrangler@4 to an old release, so the
# npm package node@22 is installed beside it.
WRANGLER_VERSION=${WRANGLER_VERSION:-4.164.0}
NODE_PKG_VERSION=${NODE_PKG_VERSION:-22}
node_cache="${XDG_CACHE_HOME:-$HOME/.cache}/moltctl/node${NODE_PKG_VERSION}-wrangler-${WRANGLER_VERSION}"
if [ ! -x "$node_cache/node_modules/.bin/wrangler" ] || [ ! -x "$node_cache/node_modules/.bin/node" ]; then
  if command -v npm >/dev/null 2>&1; then
    mkdir -p "$node_cache"
    echo '{"name":"moltctl-ci-tools","private":true}' >"$node_cache/package.json"
    if ! npm install --prefix "$node_cache" --no-audit --no-fund --loglevel=error \
      "node@${NODE_PKG_VERSION}" "wrangler@${WRANGLER_VERSION}"; then
      echo "npm could not install node@${NODE_PKG_VERSION} wrangler@${WRANGLER_VERSION}" >&2
    fi
  else
    echo "npm not found: the wrangler conformance tests need it" >&2
  fi
fi
if [ -x "$node_cache/node_modules/.bin/wrangler" ]; then
  export PATH="$node_cache/node_modules/.bin:$PATH"
  export MOLTCTL_WRANGLER="$node_cache/node_modules/.bin/wrangler"
  echo "node $(node --version), wrangler $(wrangler --version 2>/dev/null | tail -n 1)"
fi
