/* refpoints.c - NumPy-compatible Gaussian reference points on the sphere. */
#include <math.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/rng.h"

int softent_standard_normal(uint64_t seed, int64_t n, double *out)
{
    if (n < 0 || (n > 0 && !out)) return se_fail(SOFTENT_E_INVALID, "standard_normal: bad count %lld", (long long)n);
    se_pcg64 rng;
    se_pcg64_seed_numpy(&rng, seed);
    for (int64_t i = 0; i < n; i++) out[i] = se_standard_normal(&rng);
    return SOFTENT_OK;
}

int softent_refpoints_gaussian(uint64_t seed, int64_t m, int64_t d, float *w)
{
    if (m < 2) return se_fail(SOFTENT_E_INVALID, "need at least 2 reference points (bins), got %lld", (long long)m);
    if (d < 2) return se_fail(SOFTENT_E_INVALID, "embedding dimension must be at least 2, got %lld", (long long)d);
    double *row = malloc((size_t)d * sizeof *row);
    if (!row) return se_fail(SOFTENT_E_NOMEM, "out of memory for reference points");
    se_pcg64 rng;
    se_pcg64_seed_numpy(&rng, seed);
    /* standard_normal((m, d)) fills row-major, so drawing row by row in
     * sequence reproduces it; the norm is taken in float64 as NumPy would. */
    for (int64_t i = 0; i < m; i++) {
        double ss = 0;
        for (int64_t j = 0; j < d; j++) {
            row[j] = se_standard_normal(&rng);
            ss += row[j] * row[j];
        }
        double norm = sqrt(ss);
        for (int64_t j = 0; j < d; j++) w[i * d + j] = (float)(row[j] / norm);
    }
    free(row);
    return SOFTENT_OK;
}
