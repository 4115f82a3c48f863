#!/usr/bin/env bash
# Runs every test of ccweb. Installs what the tests need first (the pinned
# Claude Code CLI from npm into .cache/, the web UI's npm packages, Debian's
# chromium for the browser tests), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> Installing the pinned Claude Code CLI (npm)"
CLAUDE_BIN="$(bash scripts/install-claude-cli.sh | tail -n 1)"
export CCWEB_TEST_CLAUDE_BIN="$CLAUDE_BIN"
"$CLAUDE_BIN" --version

if [ ! -x /usr/bin/chromium ]; then
  echo "==> Installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi

echo "==> Web UI: install, unit tests, build"
bash scripts/build-web.sh
(cd web && npm test)

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test (unit, integration, real CLI, browser)"
cargo test --workspace --locked --no-fail-fast
