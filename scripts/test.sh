#!/usr/bin/env bash
# Runs every test of ccweb. Installs what the tests need first (the pinned
# Claude Code CLI from npm into .cache/, the web UI's npm packages, Debian's
# chromium for the browser tests, bubblewrap for the sandbox tests, Node 22 for the UI's render tests), so it
# works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> Installing the pinned Claude Code CLI (npm)"
CLAUDE_BIN="$(bash scripts/install-claude-cli.sh | tail -n 1)"
export CCWEB_TEST_CLAUDE_BIN="$CLAUDE_BIN"
"$CLAUDE_BIN" --version

# Debian packages the tests run for real: chromium (browser tests),
# bubblewrap (sandbox tests), nginx (the deployment test), sudo (the
# isolation test that starts the launcher through sudo).
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/bwrap ] || missing+=(bubblewrap)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/sudo ] || missing+=(sudo)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> Installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # nginx must not start as a system service here (the test runs its own):
  # a policy-rc.d that says no, for the time of the install only.
  added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  [ -z "$added_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi

echo "==> Web UI: install, build, unit and render tests"
bash scripts/build-web.sh
# The render tests need jsdom 31, hence Node 22 (from the npm registry).
NODE22="$(bash scripts/install-node22.sh | tail -n 1)"
(cd web && "$NODE22" node_modules/vitest/vitest.mjs run)

echo "==> OIDC test provider (oidc-provider from npm, run on Node 22)"
(cd crates/ccweb/tests/oidc && npm ci --no-audit --no-fund)
export CCWEB_TEST_NODE="$NODE22"

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test (unit, integration, real CLI, browser)"
cargo test --workspace --locked --no-fail-fast
