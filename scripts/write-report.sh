#!/bin/sh
# report.md for the main job: what was run, what came out, how to read it.
#   scripts/write-report.sh OUT_DIR WALL_SECONDS > OUT_DIR/report/report.md
set -eu
OUT=$1
WALL=$2
R="$OUT/report"
cfg=$(ls -d "$OUT"/run/step-* | sort -t- -k2 -n | tail -1)/config.json
last_loss=$(awk -F, 'NR > 1 && $4 != "" { v = $4; s = $1 } END { printf "%s (step %s)", v, s }' "$OUT/run/loss.csv")
first_loss=$(awk -F, 'NR > 1 && $4 != "" { printf "%s (step %s)", $4, $1; exit }' "$OUT/run/loss.csv")

cat <<MD
# What a small GPT-2 remembers and forgets while it learns the King James Bible

softent $(build/softent --version | cut -d' ' -f2) main job, $(date -u +%Y-%m-%d), wall time ${WALL} s.

## What was run

- **Text**: the King James Bible from Debian's \`bible-kjv\`
  (\`bible -f "Gen1:1-Rev22:21"\`), verse references stripped, one chapter a
  document: $(wc -l < "$OUT/chapters.txt") chapters. Every 10th chapter
  ($(wc -l < "$OUT/analysis.txt")) is held out for the analysis; the model
  trains on the rest, of which the last 5% of tokens is its validation set.
- **Tokenizer**: byte-level BPE trained on the training chapters
  (\`softent tokenizer train --vocab 4096\`).
- **Model**: GPT-2 architecture, \`$(tr -d '\n\t ' < "$cfg" | sed 's/.*"n_layer":\([0-9]*\).*/\1/')\` layers,
  d = \`$(tr -d '\n\t ' < "$cfg" | sed 's/.*"n_embd":\([0-9]*\).*/\1/')\`, trained with AdamW (warmup, cosine decay,
  clipping); 12 checkpoints log-spaced over the steps. Validation loss went from
  ${first_loss} to ${last_loss} nats/token (\`run/loss.csv\`).
- **Analysis**: \`softent trace\` on the held-out chapters,
  the first 128 tokens of each, every layer of every checkpoint with the same 100 reference points; input and
  output n-grams of orders 1-3; a 20-permutation null. Points are layer means
  over layers 1..L (the embedding layer is left out).

## What came out

\`\`\`
$(cat "$R/summary.txt")
\`\`\`

![information plane, unigrams](trajectory_plane_n1.png)

![information plane, bigrams](trajectory_plane_n2.png)

![measures against step](trajectory.png)

![validation loss against optimality](loss_optimality.png)

The numbers behind the figures: \`trajectory.json\` (every layer of every
checkpoint, nulls included), \`trajectory.csv\` (tidy rows), \`trajectory.tsv\`
(the layer means plotted), and the table softent printed:

\`\`\`
$(sed -n '/^ *step/,/^(layer means/p' "$R/trace.txt")
\`\`\`

## How to read it

- **Complexity** I(X;Z) is how much a layer's representation keeps about the
  input n-gram (the n tokens ending at the position); **expressivity** I(Y;Z)
  how much it holds about the next n tokens. Both are fractions of log m
  (m = 100 soft bins), so 0 is nothing and 1 is everything the estimator can see.
- **Optimality** I(Y;Z)/I(X;Z) is 1 on the diagonal of the information plane:
  the Information Bottleneck bound, where everything kept about the input
  helps predict the output. The paper reads training as moving toward it:
  first *fitting* (expressivity rises), then *compression* (complexity falls).
- An untrained model's embeddings are random but distinct per token, so at
  the first checkpoint complexity for unigrams is already high; training can
  first collapse and then rebuild it. Whether this small model compressed is
  stated above from the numbers themselves, whatever they show.
- Plug-in information is biased upward for sets with many rare values
  (bigrams, trigrams); \`trajectory.json\` has the permutation null and the
  corrected values (\`I_corrected\`) for every layer.
MD
