#!/usr/bin/env bash
# Builds the web UI into web/dist (embedded into the ccweb binary at build time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../web"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
