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
# The last checkpoint's layer means, corrected (the headline) with its 95%
# interval and the plug-in beside it, from the tidy CSV:
# "I(in) = 0.276 [0.239, 0.314] (plug-in 0.331); ..."
last_means=$(awk -F, '
    function num(x, f) { return x == "" ? "n/a" : sprintf(f, x) }
    function iv(set, n, m) {
        lo = v[last, set n, m "_lo"]; hi = v[last, set n, m "_hi"]
        return lo == "" || hi == "" ? "" : sprintf(" [%.3f, %.3f]", lo, hi)
    }
    NR > 1 { last = $2 }
    NR > 1 && $3 == "mean" { v[$2, $4, $5] = $6 }
    END {
        for (n = 1; n <= 4; n++) {
            if (!((last, "in" n, "I") in v)) continue
            printf "%sn = %d: I(in) = %s%s (plug-in %s), I(out) = %s%s (plug-in %s), optimality = %s%s (plug-in %s)",
                   sep, n, num(v[last, "in" n, "I_corrected"], "%.3f"), iv("in", n, "I_corrected"), num(v[last, "in" n, "I"], "%.3f"),
                   num(v[last, "out" n, "I_corrected"], "%.3f"), iv("out", n, "I_corrected"), num(v[last, "out" n, "I"], "%.3f"),
                   num(v[last, "n" n, "optimality_corrected"], "%.2f"), iv("n", n, "optimality_corrected"),
                   num(v[last, "n" n, "optimality"], "%.2f")
            sep = ";\n  "
        }
        printf "\n(step %s; 95%% bootstrap intervals in brackets)", last
    }' "$R/trajectory.csv")

cat <<MD
# What a small GPT-2 remembers and forgets while it learns the King James Bible

softent $(build/softent --version | cut -d' ' -f2) main job, $(date -u +%Y-%m-%d), wall time ${WALL} s
($(awk '{ gsub("_", " ", $1); printf "%s%s %s s", sep, $1, $2; sep = ", " }' "$R/times.txt")).

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
  output n-grams of orders 1-3; a 20-permutation null and a 100-replicate
  Poisson bootstrap over the held-out chapters. Points are layer means
  over layers 1..L (the embedding layer is left out).

## What came out

Every number below leads with the **bias-corrected** information: each label
value's entropy raised by its bias curve J(n), measured from the values' own
running means (softent's default correction, checked against ground truth in
docs/statistics.md); the plug-in value, biased upward, stands beside it. A
100-replicate bootstrap over chapters gives the intervals (error bars in the
figures) that the summary judges changes against; a 20-permutation null gives
the p-values. The summary softent wrote (\`summary.txt\`), read from the corrected
layer means:

\`\`\`
$(cat "$R/summary.txt")
\`\`\`

At the last checkpoint, layer means, corrected (plug-in beside):

\`\`\`
$(printf '%b\n' "  $last_means")
\`\`\`

![information plane, unigrams](trajectory_plane_n1.png)

![information plane, bigrams](trajectory_plane_n2.png)

![measures against step](trajectory.png)

![validation loss against optimality](loss_optimality.png)

The numbers behind the figures: \`trajectory.json\` (every layer of every
checkpoint, nulls included), \`trajectory.csv\` (tidy rows), \`trajectory.tsv\`
(the layer means plotted), and the table softent printed, the corrected
columns first and the plug-in group after the bar:

\`\`\`
$(sed -n '/^ *\(corrected (\|plug-in (\)/,/^$/p' "$R/trace.txt")
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
  Corrected optimality is I_c(out)/I_c(in); a plug-in optimality near 1
  for trigrams can be no more than both plug-in values being mostly bias.
- An untrained model's embeddings are random but distinct per token, so at
  the first checkpoint complexity for unigrams is already high; training can
  first collapse and then rebuild it. Whether this small model compressed is
  stated above from the numbers themselves, whatever they show.
- **Corrected is the headline.** Plug-in information is biased upward for
  label sets with many rare values (bigrams, trigrams): most of a plug-in
  trigram I can be what the same hidden states give for randomly permuted
  labels. The summary, the table's first column group and the solid series
  of the figures are therefore the curve-corrected I_c; the plug-in values
  are the dashed, lighter series and the table's second group. I - mean(I_null)
  is in trajectory.json beside it: the permutation null over-corrects for
  rare values (values' rows spread less than the pool's), so it errs low.
- **Compression is judged against the peak**, not the first checkpoint:
  complexity must rise to a peak and then fall, each change's 95% bootstrap
  interval (replicates paired across checkpoints: the same chapters
  reweighted) excluding 0, while the validation loss still falls; a smaller
  change is reported as within noise.
- \`trajectory.json\` has, for every layer of every checkpoint, the null
  (mean, sd, p-value, I - null mean), the curve-corrected I and optimality, and the
  context-width differences I(n) - I(n-1).
MD

# the zoo's section: models, scores, correlations and their verdicts
[ -f "$OUT/zoo/correlate/correlate.json" ] && python3 "$(dirname "$0")/zoo-report.py" "$OUT/zoo"
exit 0
