#!/usr/bin/env bash
# Builds ccweb (release) and serves the directory you run it from.
# Extra arguments go to `ccweb serve`, e.g. --listen 127.0.0.1:8080.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$repo" && cargo build --release --locked -p ccweb)
exec "$repo/target/release/ccweb" serve "$@"
