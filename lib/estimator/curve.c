/* curve.c - the bias curve J(n) of conditional entropies (see curve.h). */
#include <math.h>
#include <stddef.h>

#include "curve.h"

/* A level is read with this many samples, or a quarter of the values that
 * could reach it when there are few values (a handful of classes).  Above
 * the last such level, a level with at least EXTRA_SAMPLES samples is read
 * too while its mean is known to EXTRA_REL_SE (standard error over mean):
 * few values reach high counts, and without those levels the fitted tail
 * starts where the curve is still far from its 1/n limit. */
#define MIN_SAMPLES 32
#define EXTRA_SAMPLES 8
#define EXTRA_REL_SE 0.25

void se_curve_add(se_curve *c, int level, double delta)
{
    if (level < 0 || level >= SE_CURVE_LEVELS || !isfinite(delta)) return;
    int64_t q = (int64_t)llround(delta * SE_CURVE_SCALE), q2 = (int64_t)llround(delta * delta * SE_CURVE_SQ_SCALE);
    #pragma omp atomic
    c->sum[level] += q;
    #pragma omp atomic
    c->sumsq[level] += q2;
    #pragma omp atomic
    c->n[level] += 1;
}

void se_curve_merge(se_curve *dst, const se_curve *src)
{
    for (int a = 0; a < SE_CURVE_LEVELS; a++) {
        dst->sum[a] += src->sum[a];
        dst->sumsq[a] += src->sumsq[a];
        dst->n[a] += src->n[a];
    }
}

int se_curve_levels(const se_curve *c, se_curve_read *r)
{
    int64_t need = c->n[0] / 4 < MIN_SAMPLES ? c->n[0] / 4 : MIN_SAMPLES;
    if (need < 1) need = 1;
    const int64_t floor = need < EXTRA_SAMPLES ? need : EXTRA_SAMPLES;
    r->top = r->fit = 0;
    while (r->top < SE_CURVE_LEVELS && c->n[r->top] >= floor) {
        const int a = r->top;
        const double n = (double)c->n[a], mean = (double)c->sum[a] / SE_CURVE_SCALE / n;
        const double v = n > 1 ? fmax((double)c->sumsq[a] / SE_CURVE_SQ_SCALE / n - mean * mean, 0.0) / (n - 1) : 0;
        if (c->n[a] < need && !(mean > 0 && sqrt(v) <= EXTRA_REL_SE * mean)) break;
        if (c->n[a] >= need && r->fit == a) r->fit = a + 1;
        r->D[a] = mean;
        r->var[a] = v;
        r->top++;
    }
    if (r->top == 0) r->top = -1;
    return r->top;
}

int se_curve_fit(const se_curve *c, double J[SE_CURVE_LEVELS + 1])
{
    se_curve_read r;
    if (se_curve_levels(c, &r) > 0) se_curve_from_levels(&r, J);
    return r.top;
}

void se_curve_from_levels(const se_curve_read *r, double J[SE_CURVE_LEVELS + 1])
{
    /* The tail J(2^top) continues J(n) = A / (n + n0) from the last level:
     * pure 1/n (n0 = 0) is the leading-order limit, n0 > 0 the slower
     * approach seen at small counts.  n0 is fitted to the last two
     * well-sampled levels, whose ratio is not at the mercy of a level read
     * from a few samples. */
    const double *D = r->D;
    const int top = r->top, f = r->fit;
    double tail = D[top - 1];
    if (f >= 2 && D[f - 2] > 0 && D[f - 1] > 0) {
        const double k = ldexp(1.0, f - 2), R = D[f - 1] / D[f - 2];
        double n0 = R < 2 ? k * (4 * R - 2) / (2 - R) : 8 * k;
        n0 = fmin(fmax(n0, 0.0), 8 * k);
        /* D(K) = A/(K + n0) - A/(2K + n0) at the last level K, so
         * J(2K) = A/(2K + n0) = D(K) (K + n0) / K. */
        const double K = ldexp(1.0, top - 1);
        tail = D[top - 1] * (K + n0) / K;
    }
    J[top] = fmax(tail, 0.0);
    for (int a = top - 1; a >= 0; a--) J[a] = J[a + 1] + D[a];
}

double se_curve_bias(const double *J, int top, int64_t n)
{
    if (n < 1 || top < 0) return NAN;
    double la = log2((double)n);
    if (la >= top) return J[top] * ldexp(1.0, top) / (double)n;
    int a = (int)la;
    double f = la - a;
    return J[a] + f * (J[a + 1] - J[a]);
}

double se_taylor_bias(const double *sum, const double *sq, int64_t n, int64_t m)
{
    if (n < 2) return 0;
    double b = 0;
    for (int64_t j = 0; j < m; j++) {
        double mean = sum[j] / (double)n;
        if (!(mean > 1e-12)) continue;
        double var = (sq[j] / (double)n - mean * mean) * (double)n / (double)(n - 1);
        b += fmax(var, 0.0) / mean;
    }
    return b / (2.0 * (double)n) / log((double)m);
}
