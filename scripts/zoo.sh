#!/bin/sh
# The model zoo: does how close a model's representations come to the
# compression bound predict its benchmark scores (the paper's second claim)?
# Run by scripts/main-job.sh after the trace, on its text, tokenizer and run:
#
#   scripts/zoo.sh [OUT_DIR]        (default out/kjv; needs the main job's files)
#
# 1. tasks from Debian data (scripts/make-tasks.py): which KJV verse comes
#    next, a verse's own word order among shuffles of it, a cloze over
#    held-out KJV verses and one over fortunes-min's
#    quotations, and a preference set (the true next verse chosen over a
#    verse of another chapter);
# 2. GPT-2s that differ in width, depth, steps, data and seed, from barely
#    trained to the main job's own 1000 steps (three of its checkpoints join
#    the zoo without training again);
# 3. each analysed on the held-out chapters with a null, a bootstrap and
#    the preference set, and scored by softent eval;
# 4. softent correlate of the measures against the accuracies, with the
#    parameter count as the partial Spearman's covariate.
set -eu
cd "$(dirname "$0")/.."
OUT=${1:-out/kjv}
SOFTENT=${SOFTENT:-build/softent}
Z=$OUT/zoo
FORTUNES=/usr/share/games/fortunes
[ -f "$FORTUNES/fortunes" ] || { echo "zoo: $FORTUNES/fortunes is missing; run scripts/install-deps.sh (fortunes-min)" >&2; exit 1; }
[ -f "$OUT/tokenizer.json" ] && [ -d "$OUT/run" ] || { echo "zoo: $OUT has no run; run scripts/main-job.sh first" >&2; exit 1; }
mkdir -p "$Z/models" "$Z/analysis" "$Z/scores"
now() { date +%s; }
t0=$(now)

echo "== zoo 1/4 tasks from Debian data"
bible -f "Gen1:1-Rev22:21" > "$Z/verses.txt"
python3 scripts/make-tasks.py "$Z/verses.txt" "$FORTUNES" "$Z/tasks" --records 300 --seed 0
awk -v n="$(wc -l < "$OUT/train.txt")" 'NR <= n / 2' "$OUT/train.txt" > "$Z/train-half.txt"
t1=$(now)

echo "== zoo 2/4 training"
# name layers d_model heads steps data seed: data is the whole training text
# (full) or its first half (half); lr 3e-3 as the main job's
MODELS="l1-d64-s60      1  64 2   60 full 0
l2-d64-s150     2  64 2  150 full 0
l2-d64-s400     2  64 2  400 full 0
l1-d128-s300    1 128 4  300 full 0
l2-d96-s300     2  96 4  300 full 1
l2-d128-s300-h  2 128 4  300 half 0
l3-d128-s300    3 128 4  300 full 2
l2-d64-s400-h   2  64 2  400 half 3"
echo "$MODELS" | while read -r name L d h steps data seed; do
    text=$OUT/train.txt
    [ "$data" = half ] && text=$Z/train-half.txt
    rm -rf "$Z/runs/$name"
    "$SOFTENT" train "$text" --out "$Z/runs/$name" --tokenizer "$OUT/tokenizer.json" --layers "$L" --d-model "$d" \
        --heads "$h" --context 128 --batch 16 --steps "$steps" --lr 3e-3 --warmup 0.05 --weight-decay 0.1 \
        --checkpoints 2 --val-fraction 0.05 --seed "$seed" --quiet
    ln -sfn "../runs/$name/step-$steps" "$Z/models/$name"
    echo "$name: $L layers, d = $d, $steps steps on the $data text, seed $seed"
done
# the main job's 4th, 8th and last checkpoints (steps 7, 81 and 1000 of its 12)
for s in $(ls "$OUT/run" | sed -n 's/^step-//p' | sort -n | sed -n '4p;8p;$p'); do
    ln -sfn "../../run/step-$s" "$Z/models/main-s$s"
    echo "main-s$s: the main job's checkpoint at step $s (4 layers, d = 128)"
done
t2=$(now)

echo "== zoo 3/4 analysis and scores"
: > "$Z/scores.csv"
for m in "$Z"/models/*; do
    name=$(basename "$m")
    "$SOFTENT" analyze "$m" "$OUT/analysis.txt" --out "$Z/analysis/$name" --ngrams 1,2,3 --max-length 128 \
        --null 20 --bootstrap 100 --preference "$Z/tasks/kjv-preference.jsonl" > "$Z/analysis/$name.txt"
done
t3=$(now)
for m in "$Z"/models/*; do
    name=$(basename "$m")
    "$SOFTENT" eval "$m" loss:heldout="$Z/tasks/kjv-verses.txt" mc="$Z/tasks/kjv-next-verse.jsonl" mc="$Z/tasks/kjv-word-order.jsonl" mc="$Z/tasks/kjv-cloze.jsonl" \
        mc="$Z/tasks/fortune-cloze.jsonl" --model-name "$name" --out "$Z/scores/$name.csv" > /dev/null
    # the parameter count (GPT-2: embeddings, positions, blocks, final norm), the partial Spearman's covariate
    awk -F'[:,]' -v name="$name" '
        /"n_layer"/ {L = $2} /"n_embd"/ {d = $2} /"vocab_size"/ {V = $2} /"n_positions"/ {P = $2}
        END { printf "%s,params,%d,\n", name, V * d + P * d + L * (12 * d * d + 13 * d) + 2 * d }' "$m/config.json" >> "$Z/scores/$name.csv"
    tail -n +2 "$Z/scores/$name.csv" >> "$Z/scores.csv"
done
# the accuracies are fractions with a guessing floor; loss and bpb are not (docs/eval.md)
{ echo "model,benchmark,score,baseline"; grep -v -e '\.loss,' -e '\.bpb,' "$Z/scores.csv"; } > "$Z/accuracy.csv"
t4=$(now)

echo "== zoo 4/4 correlate"
"$SOFTENT" correlate "$Z"/analysis/*/analysis.json --scores "$Z/accuracy.csv" --covariate params --out "$Z/correlate" \
    --seed 0 | tee "$Z/correlate.txt"
t5=$(now)
printf 'tasks %s\ntraining %s\nanalysis %s\neval %s\ncorrelate %s\n' $((t1 - t0)) $((t2 - t1)) $((t3 - t2)) $((t4 - t3)) $((t5 - t4)) > "$Z/times.txt"
echo "zoo: $(ls "$Z/models" | wc -l) models in $((t5 - t0)) s; $Z/correlate/ has the table, JSON, CSV and figures"
