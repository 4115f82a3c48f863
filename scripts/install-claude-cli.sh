#!/usr/bin/env bash
# Installs the pinned Claude Code CLI that ccweb's end-to-end tests run against.
#
# Usage: scripts/install-claude-cli.sh
#   env CCWEB_CLAUDE_CACHE  install folder (default: <repo>/.cache/claude-cli)
#
# Uses only npm and the npm registry. Idempotent: when the binary in the cache already
# reports the pinned version, nothing is downloaded. The last line on stdout is the
# absolute path of the CLI binary; everything else goes to stderr.
#
# Tests find the binary at the default location by themselves (fake_anthropic::claude_bin);
# for another location, export CCWEB_TEST_CLAUDE_BIN=<the printed path>.
set -euo pipefail

CLAUDE_CLI_VERSION="2.1.197"
PACKAGE="@anthropic-ai/claude-code"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${CCWEB_CLAUDE_CACHE:-$repo/.cache/claude-cli}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

# The npm package is a thin wrapper whose optional dependency for this platform carries the
# native binary. npm 11 may refuse to run install scripts (so the wrapper's postinstall that
# links the binary never runs); the binary inside the platform package works regardless.
native="$cache/node_modules/@anthropic-ai/claude-code-linux-x64/claude"
wrapper="$cache/node_modules/.bin/claude"

# Prints the first usable binary, or nothing.
find_bin() {
    local candidate
    for candidate in "$native" "$wrapper"; do
        if [[ -x "$candidate" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 0
}

# True when $1 runs and reports the pinned version ("2.1.197 (Claude Code)").
has_pinned_version() {
    local out
    out="$("$1" --version 2>/dev/null)" || return 1
    [[ "$out" == "$CLAUDE_CLI_VERSION "* || "$out" == "$CLAUDE_CLI_VERSION" ]]
}

bin="$(find_bin)"
if [[ -n "$bin" ]] && has_pinned_version "$bin"; then
    echo "claude $CLAUDE_CLI_VERSION already installed in $cache" >&2
    echo "$bin"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm is required to install $PACKAGE@$CLAUDE_CLI_VERSION" >&2
    exit 1
fi

echo "installing $PACKAGE@$CLAUDE_CLI_VERSION into $cache" >&2
# A package.json of our own keeps npm from walking up into the repository's folders.
if [[ ! -f "$cache/package.json" ]]; then
    echo '{"name":"ccweb-claude-cli-cache","private":true}' >"$cache/package.json"
fi
# npm's output (including the "install scripts not allowed" warning) goes to stderr so
# that the last stdout line stays the binary's path.
npm install --no-audit --no-fund --save-exact --prefix "$cache" \
    "$PACKAGE@$CLAUDE_CLI_VERSION" 1>&2

bin="$(find_bin)"
if [[ -z "$bin" ]]; then
    echo "error: installed $PACKAGE@$CLAUDE_CLI_VERSION but found no binary at $native or $wrapper" >&2
    exit 1
fi
if ! has_pinned_version "$bin"; then
    echo "error: $bin does not report version $CLAUDE_CLI_VERSION: $("$bin" --version 2>&1 || true)" >&2
    exit 1
fi
echo "$bin"
