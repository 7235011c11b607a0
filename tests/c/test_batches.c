/*
 * test_batches.c - the estimator's results do not depend on how the rows
 * are handed over: one batch, batches of a document's size (507), of a
 * tile and a row either side of it, random sizes, a few rows at a time;
 * each at 1 to 4 threads (so with pending windows of 1 to 4 tiles), for
 * the whole stream and for shards that start inside a tile.  Every measure, the
 * replayed null's and the bootstrap's included, equals the one-batch
 * single-thread pass bit for bit: rows are scored in tiles aligned to
 * their global index, whatever gathers them (accumulator.h).  So for
 * float32 products and for bf16 ones (oneDNN's, one primitive a thread).
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "softent.h"

#define N 5003
#define D 64  /* tiles of 1024 rows, a window of a tile a thread */

static float z[N * D];
static int64_t keys[2][N];
static softent_product product;  /* the passes' params.product */

static void make_rows(void)
{
    uint64_t x = 4242;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        keys[0][i] = (int64_t)(30.0 / (1.0 + (double)(x >> 40) / 16777216.0 * 29.0));
        keys[1][i] = (int64_t)((x >> 20) % 400);
    }
    for (int i = 0; i < N * D; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        z[i] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5) + (i % D == keys[0][i / D] % D ? 0.7f : 0.0f);
    }
    memset(z + 100 * D, 0, D * sizeof *z);  /* an unusable row */
}

/* A finished pass over rows [first, N) (a shard's, when first > 0, so
 * that its first window starts inside a tile) handed over in batches of
 * sizes[0], sizes[1], ... (cycled; 0 or more than is left: the rest), with
 * `threads` threads from the accumulator's creation on. */
static softent_acc *pass(int64_t first, int threads, const int64_t *sizes, int n_sizes)
{
    omp_set_num_threads(threads);
    softent_params p = softent_default_params();
    p.m = 16;
    p.null_perms = 3;
    p.bootstrap = 5;
    p.product = product;
    softent_acc *acc = NULL;
    int set;
    if (softent_acc_new(&acc, &p, D, NULL)) return NULL;
    for (int k = 0; k < 2; k++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", k);
        if (softent_acc_add_labelset(acc, name, 1, &set) || softent_acc_count(acc, set, keys[k], N)) {
            softent_acc_free(acc);
            return NULL;
        }
    }
    if (first > 0 && softent_acc_set_first_row(acc, first)) {
        softent_acc_free(acc);
        return NULL;
    }
    int64_t row = first;
    for (int i = 0; row < N; i++) {
        int64_t b = sizes[i % n_sizes];
        if (b <= 0 || b > N - row) b = N - row;
        if (softent_acc_add(acc, z + row * D, b, row)) {
            softent_acc_free(acc);
            return NULL;
        }
        row += b;
    }
    if (softent_acc_finish(acc)) {
        softent_acc_free(acc);
        return NULL;
    }
    return acc;
}

/* The name of the first measure of a and b that differs in any bit. */
static const char *differs(const softent_acc *a, const softent_acc *b)
{
    softent_summary sa, sb;
    if (softent_acc_summary(a, &sa) || softent_acc_summary(b, &sb)) return "summary";
    if (memcmp(&sa.H, &sb.H, sizeof sa.H) || sa.rows != sb.rows || sa.skipped != sb.skipped) return "H(Z) or rows";
    for (int k = 0; k < 2; k++) {
        softent_labelset_measures x, y;
        if (softent_acc_labelset(a, k, &x) || softent_acc_labelset(b, k, &y)) return "measures";
        const double got[] = {x.H_cond, x.mi, x.mi_curve, x.mi_null_mean, x.mi_null_sd, x.mi_lo, x.mi_hi, x.mi_corrected};
        const double want[] = {y.H_cond, y.mi, y.mi_curve, y.mi_null_mean, y.mi_null_sd, y.mi_lo, y.mi_hi, y.mi_corrected};
        static const char *names[] = {"H_cond", "I", "curve I", "null mean", "null sd", "I lo", "I hi", "corrected I"};
        for (int i = 0; i < 8; i++)
            if (memcmp(&got[i], &want[i], sizeof got[i])) return names[i];
    }
    return NULL;
}

static void every_batching_and_thread_count_gives_the_same_bits(void)
{
    static const int64_t whole[] = {0}, doc[] = {507}, around[] = {1023, 1, 1024, 1025}, small[] = {1, 2, 3, 5, 8, 13};
    static const int64_t mixed[] = {3000, 17, 999, 1, 2048, 300};
    int64_t random[64];
    uint64_t x = 9;
    for (int i = 0; i < 64; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        random[i] = 1 + (int64_t)((x >> 33) % 2500);
    }
    struct { const char *name; const int64_t *sizes; int n; } plans[] = {
        {"one batch", whole, 1}, {"507", doc, 1}, {"1023/1/1024/1025", around, 4}, {"1..13", small, 6},
        {"mixed", mixed, 6}, {"random", random, 64},
    };
    static const int64_t firsts[] = {0, 700, 2100};
    for (int f = 0; f < 3; f++) {
        softent_acc *ref = pass(firsts[f], 1, whole, 1);
        CHECK(ref, "the one-batch pass: %s", softent_last_error());
        for (int t = 1; t <= 4; t++)
            for (size_t k = 0; k < sizeof plans / sizeof plans[0]; k++) {
                softent_acc *acc = pass(firsts[f], t, plans[k].sizes, plans[k].n);
                const char *what = acc ? differs(acc, ref) : "the pass failed";
                softent_acc_free(acc);
                if (what) softent_acc_free(ref);
                CHECK(!what, "rows from %lld in batches %s, %d threads: %s differs from the one-batch pass (%s)", (long long)firsts[f],
                      plans[k].name, t, what, acc ? "" : softent_last_error());
            }
        softent_acc_free(ref);
    }
}

static void the_same_with_bf16_products(void)
{
    product = SOFTENT_PRODUCT_BF16;
    every_batching_and_thread_count_gives_the_same_bits();
    product = SOFTENT_PRODUCT_F32;
}

int main(void)
{
    make_rows();
    RUN(every_batching_and_thread_count_gives_the_same_bits);
    RUN(the_same_with_bf16_products);
    return CHECKS_DONE();
}
