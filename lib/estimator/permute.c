/* permute.c - keyed Feistel permutations with cycle walking, and keyed shuffles for a few points (see permute.h). */
#include "permute.h"

#include "common/rng.h"

#define ROUNDS 6

void se_permutation_init(se_permutation *p, uint64_t n, uint64_t seed, uint64_t r)
{
    p->n = n;
    int bits = 2;
    while (bits < 63 && (1ull << bits) < n) bits++;
    p->low_bits = bits / 2;
    p->low_mask = (1ull << p->low_bits) - 1;
    p->high_mask = (1ull << (bits - p->low_bits)) - 1;
    uint64_t k = se_mix64(seed ^ se_mix64(r + 0x5f3759dfull));
    for (int i = 0; i < ROUNDS; i++) {
        k = se_mix64(k);
        p->keys[i] = k;
    }
}

/* Each round xors one half with a keyed hash of the other, which is
 * invertible whatever the halves' widths; the domain is 2^bits <= 2n. */
static uint64_t feistel(const se_permutation *p, uint64_t x)
{
    uint64_t lo = x & p->low_mask, hi = x >> p->low_bits;
    for (int i = 0; i < ROUNDS; i++) {
        if (i % 2 == 0) hi ^= se_mix64(lo ^ p->keys[i]) & p->high_mask;
        else lo ^= se_mix64(hi ^ p->keys[i]) & p->low_mask;
    }
    return (hi << p->low_bits) | lo;
}

/* Small n: element i of a Fisher-Yates shuffle of [0, n), its generator
 * seeded from the keys, which is uniform over all n! orders (a Feistel
 * network on a few bits is not: its permutations of 2^k points are all
 * even, and at n = 5 row 0 went to row 0 in 22 % of them). */
static uint64_t shuffled(const se_permutation *p, uint64_t i)
{
    __extension__ typedef unsigned __int128 u128;
    se_pcg64 rng = {((u128)p->keys[0] << 64) | p->keys[1], ((u128)p->keys[2] << 64) | p->keys[3] | 1};
    int64_t order[SE_PERMUTE_SHUFFLE_MAX];
    se_pcg64_shuffle(&rng, order, (int64_t)p->n);
    return (uint64_t)order[i];
}

uint64_t se_permutation_apply(const se_permutation *p, uint64_t i)
{
    if (p->n <= SE_PERMUTE_SHUFFLE_MAX) return shuffled(p, i);
    /* Walking the cycle from i until it re-enters [0, n) restricts the
     * permutation of [0, 2^bits) to one of [0, n). */
    uint64_t x = feistel(p, i);
    while (x >= p->n) x = feistel(p, x);
    return x;
}
