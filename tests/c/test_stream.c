/*
 * test_stream.c - the streaming-labels mode of the accumulator
 * (softent_acc_append_labels, lib/estimator/stream.c) against the counted
 * mode on the same rows: every measure equal to rounding when values seen
 * once and rows without a label arrive late; and the calls around it: a
 * finished accumulator stays finished after adding nothing, finishing
 * again after more rows replaces the replicates (the ASan build's leak
 * check sees the old ones freed), and streamed labels are not shared.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "softent.h"

#define N 4096
#define D 8

static float z[N * D];
static int64_t keys[N];

static void make_rows(void)
{
    uint64_t x = 12345;
    for (int i = 0; i < N * D; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        z[i] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5) + (i % D == (i / D) % 5 ? 0.7f : 0.0f);
    }
    /* values seen once, repeated values, and rows without a label, all in the second half */
    for (int i = 0; i < N; i++) keys[i] = i < N / 2 ? (i / D) % 5 : i % 3 == 0 ? SOFTENT_NO_LABEL : i % 7 == 0 ? 1000 + i : (i / D) % 5;
}

static softent_params params(void)
{
    softent_params p = softent_default_params();
    p.m = 16;
    p.null_perms = 3;
    p.bootstrap = 10;
    return p;
}

static double rel(double a, double b) { return fabs(a - b) / (fabs(b) > 1e-300 ? fabs(b) : 1.0); }

static void streaming_equals_counted(void)
{
    softent_params p = params();
    softent_acc *counted, *streamed;
    int set;
    CHECK(!softent_acc_new(&counted, &p, D, NULL) && !softent_acc_new(&streamed, &p, D, NULL), "new: %s", softent_last_error());
    CHECK(!softent_acc_add_labelset(counted, "y", 1, &set) && !softent_acc_add_labelset(streamed, "y", 1, &set), "labelset");
    CHECK(!softent_acc_count(counted, set, keys, N) && !softent_acc_add(counted, z, N, 0) && !softent_acc_finish(counted), "counted: %s",
          softent_last_error());
    /* two batches on tile boundaries: the first is scored before any row without a label arrives */
    for (int64_t row0 = 0; row0 < N; row0 += N / 2) {
        const int64_t *k[1] = {keys + row0};
        CHECK(!softent_acc_append_labels(streamed, k, NULL, N / 2), "append: %s", softent_last_error());
        CHECK(!softent_acc_add(streamed, z + row0 * D, N / 2, row0), "add: %s", softent_last_error());
    }
    CHECK(!softent_acc_finish(streamed), "finish: %s", softent_last_error());
    softent_labelset_measures a, b;
    softent_summary sa, sb;
    CHECK(!softent_acc_labelset(streamed, 0, &a) && !softent_acc_labelset(counted, 0, &b), "measures: %s", softent_last_error());
    CHECK(!softent_acc_summary(streamed, &sa) && !softent_acc_summary(counted, &sb), "summary");
    const double got[] = {sa.H, a.H, a.H_cond, a.mi, a.mi_corrected, a.mi_curve, a.mi_null_mean, a.mi_null_sd, a.mi_lo, a.mi_hi, a.H_lo};
    const double want[] = {sb.H, b.H, b.H_cond, b.mi, b.mi_corrected, b.mi_curve, b.mi_null_mean, b.mi_null_sd, b.mi_lo, b.mi_hi, b.H_lo};
    for (size_t i = 0; i < sizeof got / sizeof *got; i++) CHECK(rel(got[i], want[i]) < 1e-12, "measure %zu: streamed %.15g, counted %.15g", i, got[i], want[i]);
    CHECK(a.rows == b.rows && a.rows < N, "rows %lld vs %lld", (long long)a.rows, (long long)b.rows);
    softent_acc_free(counted);
    softent_acc_free(streamed);
}

static void finishing_again(void)
{
    softent_params p = params();
    softent_acc *acc;
    int set;
    CHECK(!softent_acc_new(&acc, &p, D, NULL) && !softent_acc_add_labelset(acc, "y", 1, &set), "new");
    float probs[16] = {0};
    for (int round = 0; round < 3; round++) {
        const int64_t *k[1] = {keys + round * 1024};
        CHECK(!softent_acc_append_labels(acc, k, NULL, 1024) && !softent_acc_add(acc, z + round * 1024 * D, 1024, round * 1024), "add");
        CHECK(!softent_acc_finish(acc), "finish %d: %s", round, softent_last_error());
        CHECK(!softent_acc_add_probs(acc, probs, 0, (round + 1) * 1024), "adding no rows: %s", softent_last_error());
        softent_summary s;
        CHECK(!softent_acc_summary(acc, &s), "adding no rows unfinished the accumulator: %s", softent_last_error());
        CHECK(s.rows == (round + 1) * 1024, "rows %lld", (long long)s.rows);
    }
    softent_acc_free(acc);
}

static void streamed_labels_are_not_shared(void)
{
    softent_params p = params();
    softent_acc *src, *dst;
    int set;
    CHECK(!softent_acc_new(&src, &p, D, NULL) && !softent_acc_new(&dst, &p, D, NULL) && !softent_acc_add_labelset(src, "y", 1, &set), "new");
    const int64_t *k[1] = {keys};
    CHECK(!softent_acc_append_labels(src, k, NULL, 1024), "append");
    CHECK(softent_acc_share_labels(dst, src) == SOFTENT_E_ORDER, "sharing streamed labels was not refused");
    CHECK(strstr(softent_last_error(), "streamed"), "message: %s", softent_last_error());
    softent_acc_free(src);
    softent_acc_free(dst);
}

int main(void)
{
    make_rows();
    RUN(streaming_equals_counted);
    RUN(finishing_again);
    RUN(streamed_labels_are_not_shared);
    return CHECKS_DONE();
}
