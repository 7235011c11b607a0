/*
 * test_permute.c - the null's permutations (lib/estimator/permute.c)
 * against their definition: a bijection of [0, n) for every n (a visited
 * bitmap), the same for the same (seed, r) and different across r, and
 * uniform: over many permutations, each row's mean image is (n - 1) / 2
 * to within the spread of a uniform draw.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "estimator/permute.h"

static void bijective_for_every_size(void)
{
    static const uint64_t sizes[] = {1, 2, 3, 5, 7, 64, 255, 256, 257, 1000, 4097, 65537, 100003};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const uint64_t n = sizes[k];
        unsigned char *seen = calloc(n, 1);
        se_permutation p;
        se_permutation_init(&p, n, 12345, 3);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t j = se_permutation_apply(&p, i);
            CHECK(j < n, "n = %llu: %llu -> %llu, outside [0, n)", (unsigned long long)n, (unsigned long long)i, (unsigned long long)j);
            CHECK(!seen[j], "n = %llu: %llu is hit twice", (unsigned long long)n, (unsigned long long)j);
            seen[j] = 1;
        }
        free(seen);
    }
}

static void keyed_by_seed_and_index(void)
{
    const uint64_t n = 1000;
    se_permutation a, b, c, d;
    se_permutation_init(&a, n, 7, 0);
    se_permutation_init(&b, n, 7, 0);
    se_permutation_init(&c, n, 7, 1);
    se_permutation_init(&d, n, 8, 0);
    int same_ab = 1, same_ac = 1, same_ad = 1, fixed = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = se_permutation_apply(&a, i);
        same_ab &= x == se_permutation_apply(&b, i);
        same_ac &= x == se_permutation_apply(&c, i);
        same_ad &= x == se_permutation_apply(&d, i);
        fixed += x == i;
    }
    CHECK(same_ab, "the same seed and index gave two permutations");
    CHECK(!same_ac && !same_ad, "another index or seed gave the same permutation");
    /* a uniform permutation has Poisson(1) fixed points: 12 or more has
     * probability below 1e-8 */
    CHECK(fixed < 12, "%d fixed points of 1000", fixed);
}

static void uniform_over_permutations(void)
{
    const uint64_t n = 97, R = 4000;
    double mean[97] = {0};
    for (uint64_t r = 0; r < R; r++) {
        se_permutation p;
        se_permutation_init(&p, n, 99, r);
        for (uint64_t i = 0; i < n; i++) mean[i] += (double)se_permutation_apply(&p, i) / R;
    }
    /* the image of a row is uniform on [0, n): mean (n-1)/2, sd of the mean
     * sqrt((n^2 - 1) / 12 / R); 5 sd over 97 rows is a false alarm below 1e-4 */
    const double sd = sqrt((n * n - 1) / 12.0 / R);
    for (uint64_t i = 0; i < n; i++)
        CHECK(fabs(mean[i] - (n - 1) / 2.0) < 5 * sd, "row %llu: mean image %.2f, expected %.1f +- %.2f",
              (unsigned long long)i, mean[i], (n - 1) / 2.0, sd);
}

int main(void)
{
    RUN(bijective_for_every_size);
    RUN(keyed_by_seed_and_index);
    RUN(uniform_over_permutations);
    return CHECKS_DONE();
}
