/*
 * product.h - the estimator's d-wide product, a tile of rows [n, d] times
 * the reference points [m, d]^T, in the arithmetic params.product names:
 * float32 (sgemm, the default) or bf16 (rows and points rounded to bf16,
 * float32 accumulation, by oneDNN on AMX / AVX512-BF16; opt-in, since it
 * moves the scores that the softmax at eps ~ 0.01 sharpens).  Each thread
 * of an accumulator runs its own tiles, one product at a time.
 */
#ifndef SOFTENT_ESTIMATOR_PRODUCT_H
#define SOFTENT_ESTIMATOR_PRODUCT_H

#include <stdint.h>

#include "common/matmul.h"
#include "softent.h"

typedef struct {
    softent_product kind;
    int64_t m, d, tile;
    int threads;             /* the threads reserved for */
    int avx512;              /* the CPU has AVX-512F (the rounding's own loop) */
    uint16_t *w16;           /* [m, d] the reference points in bf16 (BF16), else NULL; owned */
    uint16_t *rows16;        /* [threads, tile, d] each thread's rows in bf16 (BF16); owned */
    se_matmul **mm;          /* [threads] each thread's oneDNN primitives (BF16); owned */
} se_product;

/* w [m, d] float32 (kept by the caller; the float32 product reads it). */
int se_product_init(se_product *pr, softent_product kind, const float *w, int64_t m, int64_t d, int64_t tile);
/* Room for `threads` threads' products (idempotent when it has it). */
int se_product_reserve(se_product *pr, int threads);
void se_product_free(se_product *pr);
/* The bytes it holds with room for `threads` threads (oneDNN's own
 * primitives aside). */
int64_t se_product_bytes(const se_product *pr, int threads);

/* scores [n, m] = z [n, d] w^T and ss [n] the rows' squared norms (of
 * the float32 rows, in double), for n <= tile rows, on thread tid (single
 * threaded: inside the accumulator's parallel region). */
void se_product_run(se_product *pr, int tid, float *scores, double *ss, const float *z, int64_t n, const float *w);
/* The first failure of a bf16 product since the last call (and clears it). */
int se_product_status(se_product *pr);

#endif
