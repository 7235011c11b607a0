#!/bin/sh
# The built-in example: soft entropy of scikit-learn's 8x8 digits (Debian's
# python3-sklearn ships them), and how much of it the digit label explains,
# against the shuffled-label null.
set -eu
cd "$(dirname "$0")/.."
DIGITS=/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
[ -r "$DIGITS" ] || { echo "demo: $DIGITS is missing; run scripts/install-deps.sh" >&2; exit 1; }
out=${OUT:-out/digits}
mkdir -p "$out"
# digits.csv.gz: 64 pixel columns, then the digit
zcat "$DIGITS" | cut -d, -f1-64 > "$out/pixels.csv"
zcat "$DIGITS" | cut -d, -f65 > "$out/digit.csv"
build/softent estimate "$out/pixels.csv" --labels digit="$out/digit.csv" --null 200 --bootstrap 200 \
    --json "$out/result.json" --csv "$out/result.csv"
echo
echo "results: $out/result.json, $out/result.csv"
