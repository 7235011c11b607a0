/*
 * rng.h - a random generator that reproduces NumPy bit for bit.
 *
 * se_pcg64_seed_numpy(rng, seed) followed by n calls to se_standard_normal()
 * yields exactly numpy.random.default_rng(seed).standard_normal(n): the same
 * SeedSequence mixing, the same PCG64 stream and the same 256-layer ziggurat.
 * This lets tests and benchmarks share data with Python reference code.
 */
#ifndef SOFTENT_RNG_H
#define SOFTENT_RNG_H

#include <stdint.h>

/* __int128 is a GCC/Clang extension; __extension__ keeps -Wpedantic quiet. */
__extension__ typedef struct { unsigned __int128 state, inc; } se_pcg64;

void se_pcg64_seed_numpy(se_pcg64 *rng, uint64_t seed);   /* as default_rng(seed) */
uint64_t se_pcg64_next64(se_pcg64 *rng);
double se_pcg64_next_double(se_pcg64 *rng);               /* uniform in [0, 1) */
/* Uniform in [0, bound), bound >= 1, without modulo bias (Lemire's
 * multiply and reject). */
uint64_t se_pcg64_below(se_pcg64 *rng, uint64_t bound);
double se_standard_normal(se_pcg64 *rng);                 /* numpy's ziggurat */
/* perm [n] = a Fisher-Yates shuffle of [0, n): uniform over all n! orders
 * (permutation p-values need that on a handful of items). */
void se_pcg64_shuffle(se_pcg64 *rng, int64_t *perm, int64_t n);

#endif /* SOFTENT_RNG_H */
