/*
 * kernels.h - the elementwise pieces of a transformer that both the
 * inference forward pass (forward.c) and the GPT-2 trainer (train/gpt2.c)
 * run: LayerNorm, the tanh GELU and the row softmax.  One implementation,
 * so that a model trained here and then measured sees the same arithmetic.
 * Hot loops use common/fastmath.h's vectorisable exp and tanh.
 */
#ifndef SOFTENT_MODEL_KERNELS_H
#define SOFTENT_MODEL_KERNELS_H

#include <stdint.h>

#include "common/fastmath.h"

#define SE_GELU_K 0.7978845608028654f /* sqrt(2 / pi) */

/* out [rows, cols] = (x - mean) / sqrt(var + eps) * w + b per row, with the
 * biased variance (LayerNorm).  mean, rstd [rows]: the row's mean and
 * 1 / sqrt(var + eps), kept for a backward pass; either may be NULL.  out
 * may be x.  Threaded over rows. */
void se_layernorm(float *out, float *mean, float *rstd, const float *x, const float *w, const float *b,
                  int64_t rows, int64_t cols, double eps);

/* Hugging Face's gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
static inline float se_gelu_tanh1(float x)
{
    return 0.5f * x * (1.0f + se_tanhf(SE_GELU_K * (x + 0.044715f * x * x * x)));
}

/* out [n] = gelu_new(in [n]); out may be in.  Threaded. */
void se_gelu_tanh(float *out, const float *in, int64_t n);

/* row [n] = softmax(row), in place: shifted by the row's maximum so that
 * every exp argument is <= 0.  Inline, so that it vectorises in the
 * caller's (SE_HOT) clone; the simd reductions let the maximum (exact in
 * any order) and the sum (to rounding) run in vector lanes instead of one
 * serial chain. */
static inline void se_softmax_row(float *row, int64_t n)
{
    float mx = row[0], sum = 0;
    #pragma omp simd reduction(max : mx)
    for (int64_t j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    #pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; j++) {
        row[j] = se_expf_nonpos(row[j] - mx);
        sum += row[j];
    }
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < n; j++) row[j] *= inv;
}

#endif
