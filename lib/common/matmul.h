/*
 * matmul.h - products y = beta y + x W^T + b (the forward pass's weight
 * products, the estimator's rows against its reference points), in one of
 * two arithmetics:
 *   float32: OpenBLAS sgemm on float32 weights (as transformers computes
 *            a float32 model);
 *   bf16:    oneDNN's matmul on bf16 weights and inputs, float32
 *            accumulation and output (as transformers' bf16 matmuls
 *            accumulate), on the CPU's AMX or AVX512-BF16 units.
 * Everything around the products stays float32 in both.
 */
#ifndef SOFTENT_COMMON_MATMUL_H
#define SOFTENT_COMMON_MATMUL_H

#include <stdint.h>
#include <string.h>

/* A weight matrix W as nn.Linear stores it, [out, in] (y = x W^T), or as
 * gpt2's Conv1D does, [in, out] (y = x W); ld is its row stride, so that a
 * block of a fused matrix is a linear of its own.  Exactly one of w, w16
 * is set: the arithmetic the product runs in. */
typedef struct {
    const float *w;          /* float32 W, or NULL */
    const uint16_t *w16;     /* bf16 W, or NULL */
    const float *b;          /* [out] bias, or NULL */
    int64_t in, out, ld;
    int conv1d;
} se_linear;

/* The input x [n, in] of a product, with its bf16 rounding [n, in] when
 * the products are bf16 (se_operand_bf16), so that several products of
 * the same input round it once. */
typedef struct {
    const float *f32;
    const uint16_t *bf16;    /* NULL: not rounded (float32 products) */
} se_operand;

/* oneDNN's engine, stream and a cache of the primitives made for the
 * shapes seen; one per model (a model runs one pass at a time), one per
 * thread of an accumulator: a se_matmul is used by one thread at a time. */
typedef struct se_matmul se_matmul;

/* Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX), as
 * oneDNN detects it; elsewhere oneDNN would emulate bf16, slower than
 * float32. */
int se_bf16_native(void);

int se_matmul_new(se_matmul **out);
void se_matmul_free(se_matmul *mm);

/* y [n, out] = beta y + x W^T + b (beta 0 or 1).  A bf16 product whose
 * primitive oneDNN cannot make or run leaves y unset and records the
 * failure, which se_matmul_status then returns (and clears): the pass
 * checks it between layers. */
void se_matmul_run(se_matmul *mm, float *y, se_operand x, se_linear f, int64_t n, float beta);
int se_matmul_status(se_matmul *mm);
/* Whether a failure is recorded (without clearing it). */
int se_matmul_failed(const se_matmul *mm);

/* x rounded to bf16, to nearest even (torch's .to(torch.bfloat16)); NaN
 * stays NaN. */
static inline uint16_t se_bf16_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    /* round half to even on the 16 bits dropped; a NaN keeps a mantissa
     * bit so that it does not round to infinity */
    const uint32_t nan = (u & 0x7fffffffu) > 0x7f800000u;
    return nan ? (uint16_t)((u >> 16) | 0x40) : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

/* out [len] = x [len] rounded to bf16 (se_bf16_of): threaded, or on the
 * calling thread alone (inside a parallel region). */
void se_to_bf16(uint16_t *out, const float *x, int64_t len);
void se_to_bf16_serial(uint16_t *out, const float *x, int64_t len);

#endif
