/*
 * scaled_null.h - the permutation null's mean and sd without the
 * permutations, in memory that grows with neither R nor the rows.
 *
 * Under a permutation of the labels, value x gets n_x rows drawn at random
 * from the pool, so its expected H(Z|X=x) depends only on n_x: g(n), the
 * expected entropy of the mean of a random n-subset.  g(1) is the pool's
 * mean row entropy, summed exactly as the rows stream; g(n) for n >= 2 is
 * estimated from subsets of a uniform sample of the rows (a bottom-k
 * reservoir: the rows with the smallest keyed hashes of their index, so
 * the sample does not depend on batching or threads), with the subsets'
 * mean row entropy and mean linear term as control variates whose pool
 * means are known exactly; beyond half the reservoir, g(n) is the
 * leading-order expansion in the pool's second moments.  The null's
 * variance is the exact variance of the linear part of I under a random
 * permutation (a linear permutation statistic) plus the subsets' residual
 * variance per value.  docs/statistics.md has the derivation and its check
 * against the exact null.
 */
#ifndef SOFTENT_SCALED_NULL_H
#define SOFTENT_SCALED_NULL_H

#include <stdint.h>

struct softent_acc;

/* A uniform sample of the usable rows' soft assignments. */
typedef struct {
    int64_t cap;       /* rows it keeps (params.null_reservoir) */
    int64_t n;         /* rows held (<= alloc) */
    int64_t alloc;     /* rows allocated (<= cap): grown as rows arrive */
    uint64_t *key;     /* [cap] max-heap of the held rows' keys */
    int32_t *slot;     /* [cap] where heap entry k's row lies in p */
    float *p;          /* [cap, m] */
    float *h;          /* [cap] H(p) of each, efficiency */
    double h_sum;      /* sum of H(p_i) over every usable row offered */
    int64_t offered;   /* usable rows offered */
} se_reservoir;

/* What the scaled null gives a label set. */
typedef struct {
    int done;
    double mean, sd;   /* of I under a random permutation */
    double mean_sd;    /* the Monte Carlo error of mean */
} se_scaled_null;

/* An empty reservoir of capacity cap (nothing allocated yet). */
void se_reservoir_init(se_reservoir *r, int64_t cap);
void se_reservoir_free(se_reservoir *r);
/* Room for `rows` rows (at most cap), grown geometrically. */
int se_reservoir_reserve(se_reservoir *r, int64_t rows, int64_t m);
/* Offer rows [0, n) of a block starting at global row0: p [n, m] (double),
 * h [n] (efficiency), valid [n]; in row order, with room reserved for n
 * more rows. */
void se_reservoir_offer(se_reservoir *r, uint64_t seed, int64_t row0, int64_t n, int64_t m, const double *p, const double *h,
                        const unsigned char *valid);
int64_t se_reservoir_bytes(int64_t cap, int64_t m);
/* Row p [m], of key `key`, where it is among the cap smallest keys so far
 * (a state file's or another shard's rows; no row is offered twice). */
int se_reservoir_take(se_reservoir *r, uint64_t key, const float *p, float h, int64_t m);
/* src's rows and sums into dst's: the sample one pass over both would hold. */
int se_reservoir_merge(se_reservoir *dst, const se_reservoir *src, int64_t m);
/* The held rows in descending key order, slot k holding heap entry k (still
 * a max-heap): the order no longer depends on how the rows arrived, so one
 * pass, a resumed one and merged shards draw the same subsets. */
int se_reservoir_sort(se_reservoir *r, int64_t m);

/* Every label set's scaled null, into its se_labelset.scaled. */
int se_scaled_null_run(struct softent_acc *acc);

#endif
