/* permute.c - keyed Feistel permutations with cycle walking (see permute.h). */
#include "permute.h"

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

uint64_t se_permutation_apply(const se_permutation *p, uint64_t i)
{
    /* Walking the cycle from i until it re-enters [0, n) restricts the
     * permutation of [0, 2^bits) to one of [0, n). */
    uint64_t x = feistel(p, i);
    while (x >= p->n) x = feistel(p, x);
    return x;
}
