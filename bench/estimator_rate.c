/*
 * estimator_rate.c - the estimator's scoring rate against the machine's
 * sgemm at the same product shape, in one process (issue: the estimator at
 * the sgemm limit).  Built and run by bench/run.sh.
 *
 * estimator_rate N D M SETS BATCH ROUNDS [PRODUCT]
 *   N rows of D random normal floats, in memory; SETS label sets of Zipf
 *   unigrams (counted first, untimed); the rows go to softent_acc_add in
 *   batches of BATCH rows (as analyze hands over a document's positions),
 *   timed from the first add to softent_acc_finish.  Against it, the
 *   product alone at the estimator's shape: each thread multiplying its
 *   tiles of softent_tile_rows(D) rows by the M x D reference points, as
 *   score_tile does, in one parallel region.  The two alternate for ROUNDS
 *   rounds; prints each side's median rows/s and the median of the paired
 *   fractions (estimator rate / product rate).  PRODUCT f32 (default) or
 *   bf16 is the estimator's params.product; the product alone stays the
 *   float32 sgemm, the machine's rate the issue measures against.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "softent.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One estimator pass over z [n, d]: seconds, or -1 on failure. */
static double estimator_pass(const float *z, const int64_t *keys, int sets, int64_t n, int64_t d, int64_t m, int64_t batch,
                             softent_product product)
{
    softent_params p = softent_default_params();
    p.m = m;
    p.product = product;
    softent_acc *acc;
    if (softent_acc_new(&acc, &p, d, NULL)) return -1;
    for (int k = 0; k < sets; k++) {
        char name[16];
        int idx;
        snprintf(name, sizeof name, "set%d", k);
        if (softent_acc_add_labelset(acc, name, 1, &idx) || softent_acc_count(acc, idx, keys + (int64_t)k * n, n)) return -1;
    }
    const double t0 = now();
    for (int64_t r = 0; r < n; r += batch)
        if (softent_acc_add(acc, z + r * d, n - r < batch ? n - r : batch, r)) return -1;
    if (softent_acc_finish(acc)) return -1;
    const double secs = now() - t0;
    softent_acc_free(acc);
    return secs;
}

/* The product alone, as the estimator tiles it: seconds. */
static double product_pass(const float *z, const float *w, float *scores, int64_t n, int64_t d, int64_t m)
{
    const int64_t tile = softent_tile_rows(d);
    const double t0 = now();
    #pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i0 = 0; i0 < n; i0 += tile) {
        const int64_t rows = n - i0 < tile ? n - i0 : tile;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)m, (int)d, 1.0f, z + i0 * d, (int)d, w, (int)d, 0.0f,
                    scores + i0 * m, (int)m);
    }
    return now() - t0;
}

int main(int argc, char **argv)
{
    softent_product product = SOFTENT_PRODUCT_F32;
    if ((argc != 7 && argc != 8) || (argc == 8 && softent_product_parse(argv[7], &product))) {
        fprintf(stderr, "usage: estimator_rate N D M SETS BATCH ROUNDS [f32|bf16]\n");
        return 2;
    }
    const int64_t n = atoll(argv[1]), d = atoll(argv[2]), m = atoll(argv[3]), batch = atoll(argv[5]);
    const int sets = atoi(argv[4]), rounds = atoi(argv[6]);
    if (n < 1 || d < 1 || m < 2 || sets < 0 || batch < 1 || rounds < 1 || rounds > 64) { fprintf(stderr, "estimator_rate: bad arguments\n"); return 2; }
    float *z = malloc((size_t)(n * d) * sizeof *z), *w = malloc((size_t)(m * d) * sizeof *w);
    float *scores = malloc((size_t)(n * m) * sizeof *scores);
    int64_t *keys = malloc((size_t)(sets > 0 ? sets * n : 1) * sizeof *keys);
    double *normal = malloc((size_t)(n * d > m * d ? n * d : m * d) * sizeof *normal);
    if (!z || !w || !scores || !keys || !normal) { fprintf(stderr, "estimator_rate: out of memory\n"); return 1; }
    softent_standard_normal(1, n * d, normal);
    for (int64_t i = 0; i < n * d; i++) z[i] = (float)normal[i];
    softent_refpoints_gaussian(0, m, d, w);
    /* Zipf(1.1) keys over 5000 values, by inverse transform of a fixed LCG */
    uint64_t s = 12345;
    for (int64_t i = 0; i < sets * n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const double u = ((s >> 11) + 0.5) / 9007199254740992.0;
        keys[i] = (int64_t)fmin(4999, floor(pow(u, -1.0 / 0.1) - 1)) % 5000;
    }
    double est[64], prod[64], frac[64];
    for (int r = 0; r < rounds; r++) {
        const double te = estimator_pass(z, keys, sets, n, d, m, batch, product);
        if (te < 0) { fprintf(stderr, "estimator_rate: %s\n", softent_last_error()); return 1; }
        const double tp = product_pass(z, w, scores, n, d, m);
        est[r] = n / te, prod[r] = n / tp, frac[r] = tp / te;
    }
    printf("estimator_rows_per_s %.0f product_rows_per_s %.0f fraction %.3f threads %d product %s\n", median(est, rounds),
           median(prod, rounds), median(frac, rounds), omp_get_max_threads(), softent_product_name(product));
    free(z), free(w), free(scores), free(keys), free(normal);
    return 0;
}
