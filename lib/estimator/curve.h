/*
 * curve.h - the bias correction from each value's own running means.
 *
 * The plug-in H(Z|X=x) from n rows is low by J(n) = H(mu_x) - E H(mean of
 * n rows), a curve that falls from J(1) towards zero.  While rows stream
 * in, each repeated value's running sum is read at counts 1, 2, 4, 8, ...:
 * H(running mean at 2k) - H(running mean at k) samples J(k) - J(2k) within
 * that value, so the differences, pooled over values, trace the curve from
 * the values' own spread (not the pool's, which a permutation null uses).
 * J(k) is their sum from k upwards plus a fitted tail.  docs/statistics.md
 * has the derivation and its check against ground truth.
 */
#ifndef SOFTENT_CURVE_H
#define SOFTENT_CURVE_H

#include <stdint.h>

#define SE_CURVE_LEVELS 40      /* counts up to 2^40 */
#define SE_CURVE_SCALE 4294967296.0 /* differences are summed as integers of 2^-32 */

/* Pooled differences: level a holds H(mean at 2^(a+1)) - H(mean at 2^a).
 * Integer sums make the result independent of the order (threads, shards)
 * in which samples arrive. */
typedef struct {
    int64_t sum[SE_CURVE_LEVELS]; /* sum of differences, units 2^-32 */
    int64_t sumsq[SE_CURVE_LEVELS]; /* sum of their squares, units 2^-20 */
    int64_t n[SE_CURVE_LEVELS];   /* samples */
} se_curve;

#define SE_CURVE_SQ_SCALE 1048576.0

/* Record one difference at `level` (thread safe). */
void se_curve_add(se_curve *c, int level, double delta);
void se_curve_merge(se_curve *dst, const se_curve *src);

/* The levels read from a curve. */
typedef struct {
    double D[SE_CURVE_LEVELS];   /* mean difference at level a */
    double var[SE_CURVE_LEVELS]; /* the variance of that mean */
    int top;                     /* levels read, or -1 when none (no value reached two rows) */
    int fit;                     /* of them, the leading ones fully sampled (the tail's fit) */
} se_curve_read;

/* Reads c's levels into r; returns r->top. */
int se_curve_levels(const se_curve *c, se_curve_read *r);
/* The bias curve J at counts 2^0 .. 2^top from the levels read (top > 0). */
void se_curve_from_levels(const se_curve_read *r, double J[SE_CURVE_LEVELS + 1]);
/* Both: J from c; returns top or -1. */
int se_curve_fit(const se_curve *c, double J[SE_CURVE_LEVELS + 1]);

/* J(n) for a value seen n >= 1 times: interpolated linearly in log2 n
 * between the powers of two, and as J(2^top) 2^top / n beyond them. */
double se_curve_bias(const double *J, int top, int64_t n);

/* The leading-order bias of H of the mean of n rows whose sum is `sum` and
 * sum of squares `sq` ([m] each): sum_j var_j / (2 n mean_j), divided by
 * log m (efficiency units).  Used for H(Z), where n is large. */
double se_taylor_bias(const double *sum, const double *sq, int64_t n, int64_t m);

#endif
