# Install the project's npm dependencies when it has any: from the lockfile
# when it matches package.json, else resolved again (moltworker's lockfile
# is not always in sync, which makes npm ci fail).
if [ -f package.json ] && [ ! -d node_modules ]; then
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund || npm install --no-audit --no-fund
  else
    npm install --no-audit --no-fund
  fi
fi
