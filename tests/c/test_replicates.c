/*
 * test_replicates.c - with the null correction, each bootstrap replicate of
 * the corrected I is the replicate of the plug-in I less the full sample's
 * null mean (softent.h, softent_acc_replicates), for the permutation null
 * and the scaled one: analyze's ratios and layer means are built from these
 * replicates, so an unshifted replicate (the plug-in's) gave a corrected
 * optimality the plug-in's spread.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "softent.h"

#define N 3000
#define D 16
#define B 8

static float z[N * D];
static int64_t keys[N];

static void make_rows(void)
{
    uint64_t x = 77;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        keys[i] = (int64_t)((x >> 33) % 300);
        for (int j = 0; j < D; j++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            z[i * D + j] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5) + (j == keys[i] % D ? 0.5f : 0.0f);
        }
    }
}

static void shifted_by(int null_perms, int64_t reservoir)
{
    softent_params p = softent_default_params();
    p.m = 16;
    p.null_perms = null_perms;
    p.null_reservoir = reservoir;
    p.bootstrap = B;
    p.correction = SOFTENT_CORRECT_NULL;
    softent_acc *acc = NULL;
    int set;
    CHECK(!softent_acc_new(&acc, &p, D, NULL), "new: %s", softent_last_error());
    const int ok = !softent_acc_add_labelset(acc, "y", 1, &set) && !softent_acc_count(acc, set, keys, N) &&
                   !softent_acc_add(acc, z, N, 0) && !softent_acc_finish(acc);
    softent_labelset_measures m;
    double plug[B], corr[B];
    const int got = ok && !softent_acc_labelset(acc, set, &m) && !softent_acc_replicates(acc, set, 1, plug) &&
                    !softent_acc_replicates(acc, set, 2, corr);
    softent_acc_free(acc);
    CHECK(got, "the pass: %s", softent_last_error());
    CHECK(isfinite(m.mi_null_mean) && m.mi_null_mean > 0.01, "null mean %g", m.mi_null_mean);
    for (int b = 0; b < B; b++)
        CHECK(fabs(corr[b] - (plug[b] - m.mi_null_mean)) <= 1e-12, "replicate %d: corrected %.10f, plug-in %.10f less null mean %.10f", b,
              corr[b], plug[b], m.mi_null_mean);
}

static void permutation_null_shifts_the_replicates(void) { shifted_by(20, 0); }
static void scaled_null_shifts_the_replicates(void) { shifted_by(0, 1024); }

int main(void)
{
    make_rows();
    RUN(permutation_null_shifts_the_replicates);
    RUN(scaled_null_shifts_the_replicates);
    return CHECKS_DONE();
}
