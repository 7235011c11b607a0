/*
 * estimator_only.c - the partial build: a program that uses the estimator
 * and nothing above it, linked from lib/common and lib/estimator objects
 * with OpenBLAS and libm alone (Makefile: build/tests/estimator_only).
 *
 * usage: estimator_only N D SEED K
 * Z [N, D] is NumPy's default_rng(SEED).standard_normal((N, D)) as float32,
 * the labels are i % K; prints "H I" of the default estimator on one line.
 * tests/test_layering.py checks the numbers against tests/oracle.py.
 */
#include <stdio.h>
#include <stdlib.h>

#include "softent.h"

static int fail(int rc)
{
    fprintf(stderr, "estimator_only: %s\n", *softent_last_error() ? softent_last_error() : softent_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: estimator_only N D SEED K\n");
        return 2;
    }
    const int64_t n = atoll(argv[1]), d = atoll(argv[2]), k = atoll(argv[4]);
    const uint64_t seed = strtoull(argv[3], NULL, 10);
    if (n < 1 || d < 2 || k < 1) return 2;
    double *draws = malloc((size_t)(n * d) * sizeof *draws);
    float *z = malloc((size_t)(n * d) * sizeof *z);
    int64_t *labels = malloc((size_t)n * sizeof *labels);
    if (!draws || !z || !labels) return 1;
    int rc = softent_standard_normal(seed, n * d, draws);
    if (rc) return fail(rc);
    for (int64_t i = 0; i < n * d; i++) z[i] = (float)draws[i];
    for (int64_t i = 0; i < n; i++) labels[i] = i % k;

    softent_params p = softent_default_params();
    softent_acc *acc;
    int set;
    softent_labelset_measures r;
    if ((rc = softent_acc_new(&acc, &p, d, NULL)) || (rc = softent_acc_add_labelset(acc, "y", 1, &set)) ||
        (rc = softent_acc_count(acc, set, labels, n)) || (rc = softent_acc_add(acc, z, n, 0)) ||
        (rc = softent_acc_finish(acc)) || (rc = softent_acc_labelset(acc, set, &r)))
        return fail(rc);
    printf("%.17g %.17g\n", r.H, r.mi);
    softent_acc_free(acc);
    free(draws);
    free(z);
    free(labels);
    return 0;
}
