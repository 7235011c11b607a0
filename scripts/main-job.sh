#!/bin/sh
# The main job: train a small GPT-2 on the King James Bible and trace its
# checkpoints on the information plane, then test across a zoo of small
# models whether the measures predict benchmark scores (scripts/zoo.sh).
# Runs in under 15 minutes on two cores.
#
#   scripts/main-job.sh [OUT_DIR]        (default out/kjv)
#
# 1. the text: `bible -f "Gen1:1-Rev22:21"` (Debian's bible-kjv), verse
#    references stripped, one chapter a document; every 10th chapter is held
#    out for the analysis, the rest is the training corpus, of which
#    softent train holds out its last 5% for the validation loss;
# 2. a byte-level BPE tokenizer (vocabulary 4096) trained on the training corpus;
# 3. a GPT-2 (4 layers, d = 128) trained with AdamW, 12 log-spaced checkpoints;
# 4. softent trace over the checkpoints on the held-out chapters;
# 5. the model zoo (scripts/zoo.sh): trained, analysed, scored, correlated;
# 6. OUT_DIR/report/: trajectory JSON and CSV, the figures, report.md.
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-out/kjv}
SOFTENT=${SOFTENT:-build/softent}
STEPS=${STEPS:-1000}
command -v bible >/dev/null 2>&1 || { echo "main job: 'bible' is missing; run scripts/install-deps.sh" >&2; exit 1; }
mkdir -p "$OUT"
start=$(date +%s)

echo "== 1/5 the King James Bible, one chapter a document"
# "Ge1:1 In the beginning ..." -> chapters; a new chapter starts at verse 1.
bible -f "Gen1:1-Rev22:21" | awk '
    { ref = $1; sub(/^[^ ]+ /, ""); split(ref, p, ":") }
    p[2] == "1" && NR > 1 { print line; line = ""; n++ }
    { line = line (line == "" ? "" : " ") $0 }
    END { print line }' > "$OUT/chapters.txt"
awk 'NR % 10 == 0' "$OUT/chapters.txt" > "$OUT/analysis.txt"
awk 'NR % 10 != 0' "$OUT/chapters.txt" > "$OUT/train.txt"
echo "$(wc -l < "$OUT/chapters.txt") chapters: $(wc -l < "$OUT/train.txt") to train on, $(wc -l < "$OUT/analysis.txt") held out for the analysis"

t_text=$(date +%s)

echo "== 2/5 tokenizer (byte-level BPE, 4096 tokens)"
"$SOFTENT" tokenizer train "$OUT/train.txt" --vocab 4096 -o "$OUT/tokenizer.json"

t_tok=$(date +%s)

echo "== 3/5 training a GPT-2 ($STEPS steps, 12 checkpoints)"
rm -rf "$OUT/run"
"$SOFTENT" train "$OUT/train.txt" --out "$OUT/run" --tokenizer "$OUT/tokenizer.json" \
    --layers 4 --d-model 128 --heads 4 --context 128 --batch 16 --steps "$STEPS" \
    --lr 3e-3 --warmup 0.05 --weight-decay 0.1 --checkpoints 12 --val-fraction 0.05 --seed 0

t_train=$(date +%s)

echo "== 4/5 tracing the checkpoints on the held-out chapters"
mkdir -p "$OUT/report"
"$SOFTENT" trace "$OUT/run" "$OUT/analysis.txt" --out "$OUT/report" --ngrams 1,2,3 --max-length 128 --null 20 --bootstrap 100 \
    > "$OUT/report/trace.txt"
cat "$OUT/report/trace.txt"
t_trace=$(date +%s)

echo "== 5/5 the model zoo: do the measures predict the scores?"
SOFTENT=$SOFTENT scripts/zoo.sh "$OUT"

end=$(date +%s)
# the wall time of each part, in seconds (the report's table)
{ echo "text $((t_text - start))"; echo "tokenizer $((t_tok - t_text))"; echo "training $((t_train - t_tok))"
  echo "trace $((t_trace - t_train))"; sed 's/^/zoo_/' "$OUT/zoo/times.txt"; } > "$OUT/report/times.txt"
scripts/write-report.sh "$OUT" $((end - start)) > "$OUT/report/report.md"
echo
echo "report: $OUT/report/report.md (figures beside it); wall time $((end - start)) s"
