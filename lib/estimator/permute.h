/*
 * permute.h - seeded random permutations of [0, n) evaluated pointwise.
 *
 * The permutation null needs the label of row perm(i) for every row i, in
 * whatever batch or shard row i arrives.  Storing R permutations of N rows
 * would cost R*N words; instead each permutation is a keyed bijection (a
 * Feistel network on the smallest power of two >= n, its two halves taking
 * turns, walked in cycles until it lands inside [0, n)), so perm(i) costs a
 * few hashes and every shard computes the same permutation.  Up to
 * SE_PERMUTE_SHUFFLE_MAX points, where a Feistel network's few bits leave
 * its permutations measurably non-uniform (chi-square over ordered pairs,
 * tests/test_permute.py), perm(i) instead replays a keyed Fisher-Yates
 * shuffle: exact, and O(n) a call.
 */
#ifndef SOFTENT_PERMUTE_H
#define SOFTENT_PERMUTE_H

#include <stdint.h>

#include "common/hash.h"

enum { SE_PERMUTE_SHUFFLE_MAX = 32 };

typedef struct se_permutation {
    uint64_t n;
    int low_bits;     /* the low half holds this many bits, the high half the rest */
    uint64_t low_mask, high_mask;
    uint64_t keys[6]; /* one per round */
} se_permutation;

/* The permutation number `r` of the stream keyed by `seed`, over [0, n). */
void se_permutation_init(se_permutation *p, uint64_t n, uint64_t seed, uint64_t r);
uint64_t se_permutation_apply(const se_permutation *p, uint64_t i);

#endif
