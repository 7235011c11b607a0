/*
 * test_shards.c - shards of one pass (softent_acc_set_first_row) merged
 * through the library, in every pairwise order, against the one pass: the
 * plug-in and the bias curve equal to rounding, including shards that are
 * empty, that hold unusable rows, and states merged out of row order; and
 * what the merge refuses: a shard given twice, rows left between two
 * states (merged only partially), rows below a shard's first.  And an
 * accumulator checkpointed mid-stream and resumed into a fresh one, or a
 * shard serialised and absorbed (as MPI's rank 0 does), with the replayed
 * null and the bootstrap: the one pass's numbers, bit for bit for the
 * resume.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "softent.h"

#define N 5003
#define D 8
#define K 5

static float z[N * D];
static int64_t keys[N];

static void make_rows(void)
{
    uint64_t x = 777;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        /* Zipf-like values: many rare, a few common */
        keys[i] = (int64_t)(40.0 / (1.0 + (double)(x >> 40) / 16777216.0 * 39.0));
    }
    for (int i = 0; i < N * D; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        z[i] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5) + (i % D == keys[i / D] % D ? 0.6f : 0.0f);
    }
    for (int i = 0; i < N; i += 97) memset(z + i * D, 0, D * sizeof *z); /* unusable rows */
}

static softent_params params(void)
{
    softent_params p = softent_default_params();
    p.m = 16;
    p.null_perms = 3;
    p.null_sums = 1; /* the null kept as sums, as a state holds it */
    return p;
}

/* An accumulator of rows [first, last) of the shared rows, finished. */
static softent_acc *part(int64_t first, int64_t last, int declare)
{
    softent_params p = params();
    softent_acc *acc = NULL;
    int set;
    if (softent_acc_new(&acc, &p, D, NULL) || softent_acc_add_labelset(acc, "y", 1, &set) || softent_acc_count(acc, set, keys, N) ||
        (declare && softent_acc_set_first_row(acc, first)) || (last > first && softent_acc_add(acc, z + first * D, last - first, first)) ||
        softent_acc_finish(acc)) {
        softent_acc_free(acc);
        return NULL;
    }
    return acc;
}

/* The replayed null and the bootstrap over groups of 10 rows. */
static int64_t groups[N];

static softent_acc *replayed(void)
{
    softent_params p = softent_default_params();
    p.m = 16;
    p.null_perms = 3;
    p.bootstrap = 10;
    softent_acc *acc = NULL;
    int set;
    for (int i = 0; i < N; i++) groups[i] = i / 10;
    if (softent_acc_new(&acc, &p, D, NULL) || softent_acc_add_labelset(acc, "y", 1, &set) || softent_acc_count(acc, set, keys, N) ||
        softent_acc_count_groups(acc, groups, N)) {
        softent_acc_free(acc);
        return NULL;
    }
    return acc;
}

static double rel(double a, double b) { return fabs(a - b) / (fabs(b) > 1e-300 ? fabs(b) : 1.0); }

/* Every measure of a and b within tol; the name of the first that is not. */
static const char *differs(const softent_acc *a, const softent_acc *b, double tol)
{
    softent_labelset_measures x, y;
    if (softent_acc_labelset(a, 0, &x) || softent_acc_labelset(b, 0, &y)) return "measures";
    if (x.curve_levels != y.curve_levels) return "curve levels";
    const double got[] = {x.H, x.H_cond, x.mi, x.mi_curve, x.H_cond_curve, x.mi_null_mean, x.mi_null_sd, x.mi_lo, x.mi_hi};
    const double want[] = {y.H, y.H_cond, y.mi, y.mi_curve, y.H_cond_curve, y.mi_null_mean, y.mi_null_sd, y.mi_lo, y.mi_hi};
    static const char *names[] = {"H", "H_cond", "I", "curve I", "curve H_cond", "null mean", "null sd", "I lo", "I hi"};
    for (int i = 0; i < 9; i++)
        if (!(rel(got[i], want[i]) <= tol) && !(isnan(got[i]) && isnan(want[i]))) return names[i];
    return NULL;
}

static int64_t bound(int i) { return (int64_t)N * i / K; }

static void pairwise_orders_equal_one_pass(void)
{
    softent_acc *whole = part(0, N, 0);
    CHECK(whole, "one pass: %s", softent_last_error());
    /* (((s0 s1) s2) s3) s4 in row order, then from the last shard back,
     * then the middle outwards: each merge joins two adjacent runs */
    static const int orders[][K] = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 1, 3, 0, 4}, {2, 3, 1, 4, 0}};
    for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
        softent_acc *total = part(bound(orders[o][0]), bound(orders[o][0] + 1), 1);
        CHECK(total, "shard: %s", softent_last_error());
        for (int k = 1; k < K; k++) {
            const int i = orders[o][k];
            softent_acc *s = part(bound(i), bound(i + 1), 1);
            CHECK(s && !softent_acc_merge(total, s), "order %zu, shard %d: %s", o, i, softent_last_error());
            softent_acc_free(s);
        }
        const char *what = differs(total, whole, 1e-12);
        CHECK(!what, "order %zu: %s differs from the one pass", o, what);
        softent_acc_free(total);
    }
    /* two runs merged into each other: (s0 s1) + (s2 s3 s4) */
    softent_acc *a = part(0, bound(1), 1), *b = part(bound(1), bound(2), 1), *c = part(bound(2), bound(4), 1), *d = part(bound(4), N, 1);
    CHECK(a && b && c && d, "shards: %s", softent_last_error());
    CHECK(!softent_acc_merge(a, b) && !softent_acc_merge(d, c) && !softent_acc_merge(d, a), "runs: %s", softent_last_error());
    const char *what = differs(d, whole, 1e-12);
    CHECK(!what, "runs merged: %s differs", what);
    softent_acc_free(a), softent_acc_free(b), softent_acc_free(c), softent_acc_free(d);
    softent_acc_free(whole);
}

static void empty_shards_merge_as_nothing(void)
{
    softent_acc *whole = part(0, N, 0), *lo = part(0, 2000, 1), *hi = part(2000, N, 1);
    softent_acc *inside = part(900, 900, 1), *at = part(2000, 2000, 1), *end = part(N, N, 1);
    CHECK(whole && lo && hi && inside && at && end, "parts: %s", softent_last_error());
    /* an empty state into a full one, and a full one into an empty one */
    CHECK(!softent_acc_merge(lo, inside) && !softent_acc_merge(at, lo) && !softent_acc_merge(at, hi) && !softent_acc_merge(at, end),
          "merge: %s", softent_last_error());
    const char *what = differs(at, whole, 1e-12);
    CHECK(!what, "with empty shards: %s differs", what);
    int64_t first, last, labelled;
    softent_acc_rows(at, &first, &last, &labelled);
    CHECK(first == 0 && last == N && labelled == N, "the merged state spans %lld..%lld of %lld", (long long)first, (long long)last,
          (long long)labelled);
    softent_acc_free(whole), softent_acc_free(lo), softent_acc_free(hi), softent_acc_free(inside), softent_acc_free(at), softent_acc_free(end);
}

static void merges_refused(void)
{
    softent_acc *a = part(0, 1000, 1), *a2 = part(0, 1000, 1), *c = part(3000, N, 1), *over = part(500, 1500, 1);
    CHECK(a && a2 && c && over, "parts: %s", softent_last_error());
    CHECK(softent_acc_merge(a, a2) == SOFTENT_E_MISMATCH && strstr(softent_last_error(), "given twice"), "twice: %s", softent_last_error());
    CHECK(softent_acc_merge(a, over) == SOFTENT_E_MISMATCH && strstr(softent_last_error(), "same rows"), "overlap: %s", softent_last_error());
    CHECK(softent_acc_merge(a, c) == SOFTENT_E_MISMATCH && strstr(softent_last_error(), "rows 1000..2999"), "gap: %s", softent_last_error());
    CHECK(!softent_acc_merge_partial(a, c), "partial: %s", softent_last_error());
    softent_summary s;
    CHECK(!softent_acc_summary(a, &s) && s.rows == 1000 + N - 3000, "partial merge holds %lld rows", (long long)s.rows);
    /* a shard's rows start at its first row */
    softent_params p = params();
    softent_acc *acc;
    int set;
    CHECK(!softent_acc_new(&acc, &p, D, NULL) && !softent_acc_add_labelset(acc, "y", 1, &set) && !softent_acc_count(acc, set, keys, N) &&
              !softent_acc_set_first_row(acc, 2048),
          "shard: %s", softent_last_error());
    CHECK(softent_acc_add(acc, z, 16, 0) == SOFTENT_E_ORDER, "rows below the shard's first were taken");
    CHECK(softent_acc_set_first_row(acc, 0) == SOFTENT_E_ORDER, "the first row was set twice");
    softent_acc_free(acc);
    softent_acc_free(a), softent_acc_free(a2), softent_acc_free(c), softent_acc_free(over);
}

static void checkpoint_and_resume(void)
{
    softent_acc *whole = replayed(), *first = replayed(), *rest = replayed();
    CHECK(whole && first && rest, "new: %s", softent_last_error());
    CHECK(!softent_acc_add(whole, z, N, 0) && !softent_acc_finish(whole), "one pass: %s", softent_last_error());
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_shards.%d.ckpt", (int)getpid());
    /* 1234 rows: mid-tile, so rows wait for the rest of their tile */
    CHECK(!softent_acc_add(first, z, 1234, 0) && !softent_acc_checkpoint(first, path), "checkpoint: %s", softent_last_error());
    softent_acc_free(first);
    CHECK(!softent_acc_resume(rest, path), "resume: %s", softent_last_error());
    unlink(path);
    CHECK(!softent_acc_add(rest, z + 1234 * D, N - 1234, 1234) && !softent_acc_finish(rest), "the rest: %s", softent_last_error());
    const char *what = differs(rest, whole, 0);
    CHECK(!what, "resumed: %s differs from the one pass", what);
    softent_acc_free(rest);
    softent_acc_free(whole);
}

static void serialise_and_absorb(void)
{
    softent_acc *whole = replayed(), *a = replayed(), *b = replayed(), *c = replayed();
    CHECK(whole && a && b && c, "new: %s", softent_last_error());
    CHECK(!softent_acc_add(whole, z, N, 0) && !softent_acc_finish(whole), "one pass: %s", softent_last_error());
    const int64_t cut[] = {0, 1700, 3500, N};
    softent_acc *part[] = {a, b, c};
    for (int k = 0; k < 3; k++)
        CHECK(!softent_acc_set_first_row(part[k], cut[k]) && !softent_acc_add(part[k], z + cut[k] * D, cut[k + 1] - cut[k], cut[k]),
              "part %d: %s", k, softent_last_error());
    for (int k = 1; k < 3; k++) {
        void *data;
        size_t size;
        CHECK(!softent_acc_serialize(part[k], &data, &size), "serialise: %s", softent_last_error());
        const int rc = softent_acc_absorb(a, data, size);
        free(data);
        CHECK(!rc, "absorb part %d: %s", k, softent_last_error());
    }
    CHECK(!softent_acc_finish(a), "finish: %s", softent_last_error());
    const char *what = differs(a, whole, 1e-12);
    CHECK(!what, "absorbed: %s differs from the one pass", what);
    /* a shard absorbed twice holds the same rows twice */
    void *data;
    size_t size;
    CHECK(!softent_acc_serialize(b, &data, &size), "serialise: %s", softent_last_error());
    softent_acc *d = replayed();
    CHECK(d && !softent_acc_set_first_row(d, 0) && !softent_acc_add(d, z, 1700, 0), "part: %s", softent_last_error());
    CHECK(!softent_acc_absorb(d, data, size), "absorb: %s", softent_last_error());
    CHECK(softent_acc_absorb(d, data, size) == SOFTENT_E_MISMATCH, "the same shard was absorbed twice");
    free(data);
    softent_acc_free(d);
    softent_acc_free(whole), softent_acc_free(a), softent_acc_free(b), softent_acc_free(c);
}

int main(void)
{
    make_rows();
    RUN(pairwise_orders_equal_one_pass);
    RUN(empty_shards_merge_as_nothing);
    RUN(merges_refused);
    RUN(checkpoint_and_resume);
    RUN(serialise_and_absorb);
    return CHECKS_DONE();
}
