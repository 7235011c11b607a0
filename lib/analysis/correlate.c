/*
 * correlate.c - the statistics of `softent correlate`: ranks, Pearson,
 * Spearman, partial correlation by least-squares residuals, two-sided
 * p-values from Student's t, permutation p-values and percentile bootstrap
 * intervals.  Everything is in double; the data are tens of models.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/rng.h"
#include "softent_correlate.h"

typedef struct {
    double v;
    int64_t i;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v ? 1 : (x->i > y->i) - (x->i < y->i);
}

int softent_ranks(const double *x, int64_t n, double *ranks)
{
    if (n < 0 || (n && (!x || !ranks))) return se_fail(SOFTENT_E_INVALID, "ranks: bad arguments");
    ranked *r = malloc(sizeof *r * (size_t)(n ? n : 1));
    if (!r) return se_fail(SOFTENT_E_NOMEM, "ranks: out of memory");
    for (int64_t i = 0; i < n; i++) {
        if (isnan(x[i])) {
            free(r);
            return se_fail(SOFTENT_E_INVALID, "ranks: NaN at %lld", (long long)i);
        }
        r[i].v = x[i];
        r[i].i = i;
    }
    qsort(r, (size_t)n, sizeof *r, cmp_ranked);
    for (int64_t a = 0; a < n;) {
        int64_t b = a + 1;
        while (b < n && r[b].v == r[a].v) b++;
        const double mean = 0.5 * (double)(a + 1 + b); /* ranks a+1 .. b */
        for (int64_t k = a; k < b; k++) ranks[r[k].i] = mean;
        a = b;
    }
    free(r);
    return SOFTENT_OK;
}

double softent_pearson(const double *x, const double *y, int64_t n)
{
    if (n < 2) return NAN;
    double mx = 0, my = 0;
    for (int64_t i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, syy = 0, sxy = 0;
    for (int64_t i = 0; i < n; i++) {
        const double dx = x[i] - mx, dy = y[i] - my;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    if (!(sxx > 0) || !(syy > 0)) return NAN;
    double r = sxy / sqrt(sxx * syy);
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

double softent_spearman(const double *x, const double *y, int64_t n)
{
    if (n < 2) return NAN;
    double *rx = malloc(sizeof *rx * (size_t)n), *ry = malloc(sizeof *ry * (size_t)n);
    double r = NAN;
    if (rx && ry && !softent_ranks(x, n, rx) && !softent_ranks(y, n, ry)) r = softent_pearson(rx, ry, n);
    free(rx);
    free(ry);
    return r;
}

/* v less its projection on the columns of q [c, n], twice over. */
static void residual(double *v, const double *q, int c, int64_t n)
{
    for (int pass = 0; pass < 2; pass++)
        for (int j = 0; j < c; j++) {
            const double *u = q + (size_t)j * (size_t)n;
            double d = 0;
            for (int64_t i = 0; i < n; i++) d += u[i] * v[i];
            for (int64_t i = 0; i < n; i++) v[i] -= d * u[i];
        }
}

/* Orthonormal columns q [c, n] spanning [1, z] by modified Gram-Schmidt,
 * each column orthogonalised twice; 1 when a column is (nearly) in the
 * span of those before it. */
static int orthonormal_basis(const double *z, int k, int64_t n, double *q)
{
    for (int c = 0; c <= k; c++) {
        double *v = q + (size_t)c * (size_t)n;
        double norm0 = 0;
        for (int64_t i = 0; i < n; i++) {
            v[i] = c ? z[(size_t)(c - 1) * (size_t)n + (size_t)i] : 1.0;
            norm0 += v[i] * v[i];
        }
        norm0 = sqrt(norm0);
        residual(v, q, c, n);
        double norm = 0;
        for (int64_t i = 0; i < n; i++) norm += v[i] * v[i];
        norm = sqrt(norm);
        if (!(norm > 1e-9 * norm0)) return 1;
        for (int64_t i = 0; i < n; i++) v[i] /= norm;
    }
    return 0;
}

/* The residuals ex, ey [n] of x and y (of their ranks, and the covariates'
 * ranks, when spearman) on [1, z], with the orthonormal basis q [k + 1, n]
 * they were taken on and the squared norms nx, ny before the projection.
 * buf holds 2 k + 3 columns of n; ex, ey and q point into it. */
typedef struct {
    double *ex, *ey, *q;
    double nx, ny;
} partial_residuals;

static int residuals_on_covariates(partial_residuals *pr, double *buf, const double *x, const double *y, int64_t n, const double *z,
                                   int k, int spearman)
{
    const size_t N = (size_t)n;
    double *zz = buf + 2 * N;
    pr->ex = buf;
    pr->ey = buf + N;
    pr->q = zz + N * (size_t)k;
    int rc = SOFTENT_OK;
    if (spearman) {
        rc = softent_ranks(x, n, pr->ex);
        if (!rc) rc = softent_ranks(y, n, pr->ey);
        for (int c = 0; c < k && !rc; c++) rc = softent_ranks(z + N * (size_t)c, n, zz + N * (size_t)c);
    } else {
        memcpy(pr->ex, x, sizeof *pr->ex * N);
        memcpy(pr->ey, y, sizeof *pr->ey * N);
        if (k) memcpy(zz, z, sizeof *zz * N * (size_t)k);
    }
    if (rc) return rc;
    if (orthonormal_basis(zz, k, n, pr->q)) return se_fail(SOFTENT_E_INVALID, "partial correlation: the covariates are collinear");
    pr->nx = pr->ny = 0;
    for (size_t i = 0; i < N; i++) pr->nx += pr->ex[i] * pr->ex[i], pr->ny += pr->ey[i] * pr->ey[i];
    residual(pr->ex, pr->q, k + 1, n);
    residual(pr->ey, pr->q, k + 1, n);
    return SOFTENT_OK;
}

/* The cosine of two residuals (their mean is 0: the intercept is in the
 * basis), NaN when either is at rounding level against its norm before the
 * projection (x or y fully explained by the covariates). */
static double residual_corr(const double *ex, const double *ey, int64_t n, double nx, double ny)
{
    double sxx = 0, syy = 0, sxy = 0;
    for (int64_t i = 0; i < n; i++) sxx += ex[i] * ex[i], syy += ey[i] * ey[i], sxy += ex[i] * ey[i];
    if (!(sxx > 1e-24 * nx && syy > 1e-24 * ny)) return NAN;
    const double v = sxy / sqrt(sxx * syy);
    return v > 1 ? 1 : v < -1 ? -1 : v;
}

static int check_partial_args(int64_t n, const double *z, int k)
{
    if (k < 0 || n < (int64_t)k + 3 || (k && !z))
        return se_fail(SOFTENT_E_INVALID, "partial correlation: %lld models for %d covariates (need at least %d)", (long long)n, k,
                       k + 3);
    return SOFTENT_OK;
}

int softent_partial_corr(const double *x, const double *y, int64_t n, const double *z, int k, int spearman, double *r)
{
    *r = NAN;
    int rc = check_partial_args(n, z, k);
    if (rc) return rc;
    double *buf = malloc(sizeof *buf * (size_t)n * (size_t)(2 * k + 3));
    if (!buf) return se_fail(SOFTENT_E_NOMEM, "partial correlation: out of memory");
    partial_residuals pr;
    rc = residuals_on_covariates(&pr, buf, x, y, n, z, k, spearman);
    if (!rc) *r = residual_corr(pr.ex, pr.ey, n, pr.nx, pr.ny);
    free(buf);
    return rc;
}

int softent_partial_p_perm(const double *x, const double *y, int64_t n, const double *z, int k, int spearman, int64_t R,
                           uint64_t seed, double *p)
{
    *p = NAN;
    int rc = check_partial_args(n, z, k);
    if (rc) return rc;
    if (R < 1) return se_fail(SOFTENT_E_INVALID, "permutation p-value: R = %lld", (long long)R);
    const size_t N = (size_t)n;
    double *buf = malloc(sizeof *buf * N * (size_t)(2 * k + 4));
    int64_t *perm = malloc(sizeof *perm * N);
    if (!buf || !perm) {
        free(buf), free(perm);
        return se_fail(SOFTENT_E_NOMEM, "permutation p-value: out of memory");
    }
    double *eyp = buf + N * (size_t)(2 * k + 3);
    partial_residuals pr;
    rc = residuals_on_covariates(&pr, buf, x, y, n, z, k, spearman);
    const double r0 = rc ? NAN : residual_corr(pr.ex, pr.ey, n, pr.nx, pr.ny);
    if (!rc && isnan(r0)) rc = se_fail(SOFTENT_E_INVALID, "permutation p-value: x or y is explained by the covariates");
    if (!rc) {
        /* Freedman and Lane: y's residuals permuted and added back to its
         * fit, which, projected off [1, z] again, is the permuted residual
         * projected off [1, z]. */
        se_pcg64 rng;
        se_pcg64_seed_numpy(&rng, seed);
        int64_t hits = 0;
        for (int64_t b = 0; b < R; b++) {
            se_pcg64_shuffle(&rng, perm, n);
            for (size_t i = 0; i < N; i++) eyp[i] = pr.ey[perm[i]];
            residual(eyp, pr.q, k + 1, n);
            const double r = residual_corr(pr.ex, eyp, n, pr.nx, pr.ny);
            if (!isnan(r) && fabs(r) >= fabs(r0) - 1e-12) hits++;
        }
        *p = (double)(1 + hits) / (double)(R + 1);
    }
    free(buf);
    free(perm);
    return rc;
}

/* The continued fraction of I_x(a, b) (Numerical Recipes' betacf), by
 * the modified Lentz method. */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-16;
    const double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 100000; m++) {
        const int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        const double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps) break;
    }
    return h;
}

double softent_betainc(double a, double b, double x)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1)) return NAN;
    if (x == 0 || x == 1) return x;
    const double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * betacf(a, b, x) / a;
    return 1 - exp(lbt) * betacf(b, a, 1 - x) / b;
}

double softent_corr_p_t(double r, double df)
{
    if (isnan(r) || !(df > 0)) return NAN;
    const double ar = fabs(r);
    if (ar >= 1) return 0;
    /* P(|T| >= |t|) = I_{df / (df + t^2)}(df/2, 1/2), and df / (df + t^2) = 1 - r^2 */
    return softent_betainc(0.5 * df, 0.5, (1 - ar) * (1 + ar));
}

int64_t softent_bootstrap_index(uint64_t seed, int64_t b, int64_t j, int64_t n)
{
    const uint64_t key = se_mix64(seed ^ 0x626f6f7473747270ull); /* "bootstrp" */
    return (int64_t)(se_mix64(key + (uint64_t)b * (uint64_t)n + (uint64_t)j) % (uint64_t)n);
}

int softent_corr_p_perm(const double *x, const double *y, int64_t n, int spearman, int64_t R, uint64_t seed, double *p)
{
    *p = NAN;
    if (n < 2 || R < 1) return se_fail(SOFTENT_E_INVALID, "permutation p-value: n = %lld, R = %lld", (long long)n, (long long)R);
    const size_t N = (size_t)n;
    double *buf = malloc(sizeof *buf * N * 3);
    int64_t *perm = malloc(sizeof *perm * N);
    if (!buf || !perm) {
        free(buf), free(perm);
        return se_fail(SOFTENT_E_NOMEM, "permutation p-value: out of memory");
    }
    double *a = buf, *b = a + N, *bp = b + N;
    int rc = SOFTENT_OK;
    if (spearman) {
        rc = softent_ranks(x, n, a);
        if (!rc) rc = softent_ranks(y, n, b);
    } else {
        memcpy(a, x, sizeof *a * N);
        memcpy(b, y, sizeof *b * N);
    }
    if (!rc) {
        const double r0 = softent_pearson(a, b, n);
        if (isnan(r0)) rc = se_fail(SOFTENT_E_INVALID, "permutation p-value: a constant column");
        else {
            se_pcg64 rng;
            se_pcg64_seed_numpy(&rng, seed);
            int64_t hits = 0;
            for (int64_t k = 0; k < R; k++) {
                se_pcg64_shuffle(&rng, perm, n);
                for (size_t i = 0; i < N; i++) bp[i] = b[perm[i]];
                if (fabs(softent_pearson(a, bp, n)) >= fabs(r0) - 1e-12) hits++;
            }
            *p = (double)(1 + hits) / (double)(R + 1);
        }
    }
    free(buf);
    free(perm);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* NumPy's default ("linear") percentile of sorted v [m] at q in [0, 1]. */
static double percentile(const double *v, int64_t m, double q)
{
    const double pos = q * (double)(m - 1);
    int64_t lo = (int64_t)floor(pos);
    if (lo >= m - 1) return v[m - 1];
    return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

/* A statistic of the models picked by idx [n]: *r, NaN where undefined on
 * that resample. */
typedef int (*resample_stat)(void *ctx, const int64_t *idx, int64_t n, double *r);

/* The percentile interval of f over B resamples (softent_bootstrap_index). */
static int percentile_bootstrap(resample_stat f, void *ctx, int64_t n, int64_t B, uint64_t seed, double level, double *lo,
                                double *hi, int64_t *skipped)
{
    *lo = *hi = NAN;
    *skipped = 0;
    if (n < 2 || B < 1 || !(level > 0 && level < 1))
        return se_fail(SOFTENT_E_INVALID, "bootstrap: n = %lld, B = %lld, level %g", (long long)n, (long long)B, level);
    int64_t *idx = malloc(sizeof *idx * (size_t)n);
    double *rs = malloc(sizeof *rs * (size_t)B);
    if (!idx || !rs) {
        free(idx), free(rs);
        return se_fail(SOFTENT_E_NOMEM, "bootstrap: out of memory");
    }
    int64_t m = 0;
    int rc = SOFTENT_OK;
    for (int64_t b = 0; b < B && !rc; b++) {
        for (int64_t j = 0; j < n; j++) idx[j] = softent_bootstrap_index(seed, b, j, n);
        double r = NAN;
        rc = f(ctx, idx, n, &r);
        if (isnan(r)) (*skipped)++;
        else rs[m++] = r;
    }
    if (!rc && m >= 2) {
        qsort(rs, (size_t)m, sizeof *rs, cmp_double);
        *lo = percentile(rs, m, (1 - level) / 2);
        *hi = percentile(rs, m, 1 - (1 - level) / 2);
    }
    free(idx), free(rs);
    return rc;
}

typedef struct {
    const double *x, *y, *z; /* [n], [n], [k, n] */
    int k, spearman;
    double *xs, *ys, *zs;    /* the resample: [n], [n], [k, n] */
} resample_data;

static void pick(const double *v, const int64_t *idx, int64_t n, double *out)
{
    for (int64_t j = 0; j < n; j++) out[j] = v[idx[j]];
}

static int pair_on_resample(void *ctx, const int64_t *idx, int64_t n, double *r)
{
    resample_data *d = ctx;
    pick(d->x, idx, n, d->xs);
    pick(d->y, idx, n, d->ys);
    *r = d->spearman ? softent_spearman(d->xs, d->ys, n) : softent_pearson(d->xs, d->ys, n);
    return SOFTENT_OK;
}

static int partial_on_resample(void *ctx, const int64_t *idx, int64_t n, double *r)
{
    resample_data *d = ctx;
    pick(d->x, idx, n, d->xs);
    pick(d->y, idx, n, d->ys);
    for (int c = 0; c < d->k; c++) pick(d->z + (size_t)c * (size_t)n, idx, n, d->zs + (size_t)c * (size_t)n);
    const int rc = softent_partial_corr(d->xs, d->ys, n, d->zs, d->k, d->spearman, r);
    /* a resample whose covariates are collinear has no partial correlation: skipped, as a constant one is */
    if (rc == SOFTENT_E_INVALID) {
        se_clear_error();
        return SOFTENT_OK;
    }
    return rc;
}

static int bootstrap_on(resample_stat f, const double *x, const double *y, int64_t n, const double *z, int k, int spearman,
                        int64_t B, uint64_t seed, double level, double *lo, double *hi, int64_t *skipped)
{
    const size_t N = (size_t)(n > 0 ? n : 1);
    double *buf = malloc(sizeof *buf * N * (size_t)(2 + k));
    if (!buf) {
        *lo = *hi = NAN;
        *skipped = 0;
        return se_fail(SOFTENT_E_NOMEM, "bootstrap: out of memory");
    }
    resample_data d = {x, y, z, k, spearman, buf, buf + N, buf + 2 * N};
    const int rc = percentile_bootstrap(f, &d, n, B, seed, level, lo, hi, skipped);
    free(buf);
    return rc;
}

int softent_corr_bootstrap(const double *x, const double *y, int64_t n, int spearman, int64_t B, uint64_t seed, double level,
                           double *lo, double *hi, int64_t *skipped)
{
    return bootstrap_on(pair_on_resample, x, y, n, NULL, 0, spearman, B, seed, level, lo, hi, skipped);
}

int softent_partial_bootstrap(const double *x, const double *y, int64_t n, const double *z, int k, int spearman, int64_t B,
                              uint64_t seed, double level, double *lo, double *hi, int64_t *skipped)
{
    const int rc = check_partial_args(n, z, k);
    if (rc) {
        *lo = *hi = NAN;
        *skipped = 0;
        return rc;
    }
    return bootstrap_on(partial_on_resample, x, y, n, z, k, spearman, B, seed, level, lo, hi, skipped);
}
