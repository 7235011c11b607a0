/* curve.c - the bias curve J(n) of conditional entropies (see curve.h). */
#include <math.h>
#include <stddef.h>

#include "curve.h"

/* A level is read only with this many samples, or a quarter of the values
 * that could reach it when there are few values (a handful of classes). */
#define MIN_SAMPLES 32

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

int se_curve_levels(const se_curve *c, double *D, double *var)
{
    int64_t need = c->n[0] / 4 < MIN_SAMPLES ? c->n[0] / 4 : MIN_SAMPLES;
    if (need < 1) need = 1;
    int top = 0;
    while (top < SE_CURVE_LEVELS && c->n[top] >= need) {
        const double n = (double)c->n[top], mean = (double)c->sum[top] / SE_CURVE_SCALE / n;
        if (D) D[top] = mean;
        if (var) var[top] = n > 1 ? fmax((double)c->sumsq[top] / SE_CURVE_SQ_SCALE / n - mean * mean, 0.0) / (n - 1) : 0;
        top++;
    }
    return top > 0 ? top : -1;
}

int se_curve_fit(const se_curve *c, double J[SE_CURVE_LEVELS + 1])
{
    double D[SE_CURVE_LEVELS];
    int top = se_curve_levels(c, D, NULL);
    if (top > 0) se_curve_from_levels(D, top, J);
    return top;
}

void se_curve_from_levels(const double *D, int top, double J[SE_CURVE_LEVELS + 1])
{
    /* The tail J(2^top) from the last two differences, fitting
     * J(n) = A / (n + n0): pure 1/n (n0 = 0) is the leading-order limit;
     * n0 > 0 is the slower approach seen at small counts. */
    double tail = D[top - 1];
    if (top >= 2 && D[top - 2] > 0 && D[top - 1] > 0) {
        double k = ldexp(1.0, top - 2), R = D[top - 1] / D[top - 2];
        double n0 = R < 2 ? k * (4 * R - 2) / (2 - R) : 8 * k;
        n0 = fmin(fmax(n0, 0.0), 8 * k);
        tail = D[top - 1] * (2 * k + n0) / (2 * k);
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
