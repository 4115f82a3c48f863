#!/usr/bin/env bash
# Runs every test of ccweb. Installs what the tests need first (the pinned
# Claude Code CLI from npm into .cache/), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> Installing the pinned Claude Code CLI (npm)"
CLAUDE_BIN="$(bash scripts/install-claude-cli.sh | tail -n 1)"
export CCWEB_TEST_CLAUDE_BIN="$CLAUDE_BIN"
"$CLAUDE_BIN" --version

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked --no-fail-fast
