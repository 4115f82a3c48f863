#!/usr/bin/env bash
# Builds ccweb (the web UI, then the release binary with the UI embedded)
# and serves the directory you run it from.
# Extra arguments go to `ccweb serve`, e.g. --listen 127.0.0.1:8080.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/scripts/build-web.sh" >&2
(cd "$repo" && cargo build --release --locked -p ccweb)
exec "$repo/target/release/ccweb" serve "$@"
