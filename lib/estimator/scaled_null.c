/* scaled_null.c - the permutation null from a reservoir of rows (see scaled_null.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "accumulator.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/rng.h"
#include "scaled_null.h"

int64_t se_reservoir_bytes(int64_t cap, int64_t m)
{
    return cap * (int64_t)(sizeof(uint64_t) + sizeof(int32_t) + sizeof(float) * (size_t)(m + 1));
}

int se_reservoir_reserve(se_reservoir *r, int64_t rows, int64_t m)
{
    if (rows <= r->alloc) return SOFTENT_OK;
    if (rows < 2 * r->alloc) rows = 2 * r->alloc;
    if (rows > r->cap) rows = r->cap;
    uint64_t *key = realloc(r->key, sizeof *r->key * (size_t)rows);
    if (key) r->key = key;
    int32_t *slot = key ? realloc(r->slot, sizeof *r->slot * (size_t)rows) : NULL;
    if (slot) r->slot = slot;
    float *p = slot ? realloc(r->p, sizeof *r->p * (size_t)(rows * m)) : NULL;
    if (p) r->p = p;
    float *h = p ? realloc(r->h, sizeof *r->h * (size_t)rows) : NULL;
    if (h) r->h = h;
    if (!h) return se_fail(SOFTENT_E_NOMEM, "out of memory for the scaled null's reservoir of %lld rows", (long long)rows);
    r->alloc = rows;
    return SOFTENT_OK;
}

void se_reservoir_init(se_reservoir *r, int64_t cap)
{
    memset(r, 0, sizeof *r);
    r->cap = cap;
}

void se_reservoir_free(se_reservoir *r)
{
    free(r->key);
    free(r->slot);
    free(r->p);
    free(r->h);
    memset(r, 0, sizeof *r);
}

static void sift_down(se_reservoir *r, int64_t k)
{
    for (;;) {
        int64_t c = 2 * k + 1;
        if (c >= r->n) return;
        if (c + 1 < r->n && r->key[c + 1] > r->key[c]) c++;
        if (r->key[k] >= r->key[c]) return;
        const uint64_t tk = r->key[k];
        const int32_t ts = r->slot[k];
        r->key[k] = r->key[c], r->slot[k] = r->slot[c];
        r->key[c] = tk, r->slot[c] = ts;
        k = c;
    }
}

static void sift_up(se_reservoir *r, int64_t k)
{
    while (k > 0) {
        const int64_t parent = (k - 1) / 2;
        if (r->key[parent] >= r->key[k]) return;
        const uint64_t tk = r->key[k];
        const int32_t ts = r->slot[k];
        r->key[k] = r->key[parent], r->slot[k] = r->slot[parent];
        r->key[parent] = tk, r->slot[parent] = ts;
        k = parent;
    }
}

/* The slot a row of this key goes to, or -1 when the cap held keys are all
 * smaller (the caller has reserved room). */
static int32_t admit(se_reservoir *r, uint64_t key)
{
    if (r->n < r->cap) {
        const int32_t slot = (int32_t)r->n;
        r->key[r->n] = key, r->slot[r->n] = slot;
        sift_up(r, r->n++);
        return slot;
    }
    if (key >= r->key[0]) return -1;
    const int32_t slot = r->slot[0];
    r->key[0] = key;
    sift_down(r, 0);
    return slot;
}

void se_reservoir_offer(se_reservoir *r, uint64_t seed, int64_t row0, int64_t n, int64_t m, const double *p, const double *h,
                        const unsigned char *valid)
{
    const uint64_t salt = se_mix64(seed ^ 0x7265736572766f69ull); /* "reservoi" */
    for (int64_t i = 0; i < n; i++) {
        if (!valid[i]) continue;
        r->h_sum += h[i];
        r->offered++;
        /* the rows with the cap smallest keys are a uniform sample, whatever
         * the batching; the key is a bijection of the row index, so no two
         * rows share one */
        const int32_t slot = admit(r, se_mix64(salt ^ se_mix64((uint64_t)(row0 + i))));
        if (slot < 0) continue;
        for (int64_t j = 0; j < m; j++) r->p[(int64_t)slot * m + j] = (float)p[i * m + j];
        r->h[slot] = (float)h[i];
    }
}

int se_reservoir_take(se_reservoir *r, uint64_t key, const float *p, float h, int64_t m)
{
    int rc = se_reservoir_reserve(r, r->n + 1, m);
    if (rc) return rc;
    const int32_t slot = admit(r, key);
    if (slot >= 0) {
        memcpy(r->p + (int64_t)slot * m, p, sizeof *p * (size_t)m);
        r->h[slot] = h;
    }
    return SOFTENT_OK;
}

int se_reservoir_merge(se_reservoir *dst, const se_reservoir *src, int64_t m)
{
    int rc = SOFTENT_OK;
    for (int64_t k = 0; k < src->n && !rc; k++)
        rc = se_reservoir_take(dst, src->key[k], src->p + (int64_t)src->slot[k] * m, src->h[src->slot[k]], m);
    if (!rc) dst->h_sum += src->h_sum, dst->offered += src->offered;
    return rc;
}

static int descending_key(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

int se_reservoir_sort(se_reservoir *r, int64_t m)
{
    if (r->n == 0) return SOFTENT_OK;
    /* (key, slot) pairs sorted by key, then the rows moved into key order */
    uint64_t *pair = malloc(sizeof *pair * 2 * (size_t)r->n);
    float *p = malloc(sizeof *p * (size_t)(r->alloc * m));
    float *h = malloc(sizeof *h * (size_t)r->alloc);
    if (!pair || !p || !h) {
        free(pair), free(p), free(h);
        return se_fail(SOFTENT_E_NOMEM, "out of memory for the scaled null's reservoir");
    }
    for (int64_t k = 0; k < r->n; k++) pair[2 * k] = r->key[k], pair[2 * k + 1] = (uint64_t)r->slot[k];
    qsort(pair, (size_t)r->n, 2 * sizeof *pair, descending_key);
    for (int64_t k = 0; k < r->n; k++) {
        const int64_t from = (int64_t)pair[2 * k + 1];
        memcpy(p + k * m, r->p + from * m, sizeof *p * (size_t)m);
        h[k] = r->h[from];
        r->key[k] = pair[2 * k], r->slot[k] = (int32_t)k;
    }
    free(pair), free(r->p), free(r->h);
    r->p = p, r->h = h;
    return SOFTENT_OK;
}

/* ---- the law of a random n-subset's entropy ------------------------------ */

/* At a count n: E H(mean of a random n-subset) = g; that entropy is about
 * g + a (mean h - g1) + b (mean l) + residual, residual variance s2; var_g
 * is the Monte Carlo variance of g. */
typedef struct {
    int64_t n;
    double g, a, b, s2, var_g;
    int64_t samples;   /* subsets drawn (0: not yet asked for) */
} subset_law;

typedef struct {
    const se_reservoir *r;
    int64_t m, N;      /* bins, rows in the pool */
    double H_mu;       /* H(pool mean) */
    double g1;         /* pool mean of H(p_i) */
    double T_N;        /* se_taylor_bias of the pool: J(n) ~ T_N (N - n) / n */
    double *ell;       /* [r->n] each reservoir row's linear term */
} pool;

/* S subsets of n reservoir rows, the regression of their entropies on the
 * two controls.  Returns 1 when out of memory. */
static int estimate_law(const pool *P, subset_law *L, uint64_t seed)
{
    const int64_t M = P->r->n, m = P->m, n = L->n, S = L->samples;
    int32_t *idx = malloc(sizeof *idx * (size_t)M);
    double *sum = malloc(sizeof *sum * (size_t)m);
    if (!idx || !sum) {
        free(idx), free(sum);
        return 1;
    }
    for (int64_t i = 0; i < M; i++) idx[i] = (int32_t)i;
    se_pcg64 rng;
    se_pcg64_seed_numpy(&rng, se_mix64(seed ^ (0x73756273657473ull + (uint64_t)n))); /* "subsets" */
    /* centred sums by Welford's updates, for y and the controls u, v */
    double my = 0, mu = 0, mv = 0, cuu = 0, cuv = 0, cvv = 0, cuy = 0, cvy = 0, cyy = 0;
    for (int64_t t = 0; t < S; t++) {
        memset(sum, 0, sizeof *sum * (size_t)m);
        double hsum = 0, lsum = 0;
        for (int64_t k = 0; k < n; k++) {
            const int64_t j = k + (int64_t)se_pcg64_below(&rng, (uint64_t)(M - k));
            const int32_t tmp = idx[k];
            idx[k] = idx[j];
            idx[j] = tmp;
            const int32_t row = idx[k]; /* the heap's slots are a permutation of the rows held */
            const float *p = P->r->p + (int64_t)row * m;
            for (int64_t c = 0; c < m; c++) sum[c] += p[c];
            hsum += P->r->h[row];
            lsum += P->ell[row];
        }
        const double y = se_entropy(sum, m), u = hsum / (double)n - P->g1, v = lsum / (double)n;
        const double w = 1.0 / (double)(t + 1);
        const double dy = y - my, du = u - mu, dv = v - mv;
        my += dy * w, mu += du * w, mv += dv * w;
        cuu += du * (u - mu), cvv += dv * (v - mv), cyy += dy * (y - my);
        cuv += du * (v - mv), cuy += du * (y - my), cvy += dv * (y - my);
    }
    free(idx), free(sum);
    /* least squares of y on [1, u, v]; a control that does not vary is left out */
    double a = 0, b = 0;
    const double det = cuu * cvv - cuv * cuv;
    if (det > 1e-12 * (cuu * cvv) && cuu > 0 && cvv > 0) {
        a = (cuy * cvv - cvy * cuv) / det;
        b = (cvy * cuu - cuy * cuv) / det;
    } else if (cuu > 0) a = cuy / cuu;
    else if (cvv > 0) b = cvy / cvv;
    const double rss = fmax(0, cyy - a * cuy - b * cvy);
    L->a = a, L->b = b;
    L->g = my - a * mu - b * mv;
    L->s2 = S > 3 ? rss / (double)(S - 3) : 0;
    /* the intercept's variance at (0, 0): s2 (1/S + x' C^-1 x), x the controls' means */
    double lev = 0;
    if (det > 1e-12 * (cuu * cvv) && cuu > 0 && cvv > 0) lev = (mu * mu * cvv - 2 * mu * mv * cuv + mv * mv * cuu) / det;
    else if (cuu > 0) lev = mu * mu / cuu;
    else if (cvv > 0) lev = mv * mv / cvv;
    L->var_g = L->s2 * (1.0 / (double)S + lev);
    return 0;
}

/* The grid of counts the law is estimated at: 2 .. 32, then four a
 * doubling, up to half the reservoir. */
#define GRID_DENSE 32
static int64_t grid_count(int k)
{
    if (k <= GRID_DENSE - 2) return k + 2;
    return (int64_t)llround(GRID_DENSE * pow(2.0, (double)(k - (GRID_DENSE - 2)) / 4.0));
}

static int grid_size(int64_t n_max)
{
    int k = 0;
    while (grid_count(k) <= n_max) k++;
    return k;
}

/* Which grid points a count n reads, with the weight of the upper one. */
static void grid_bracket(int64_t n, int size, int *lo, int *hi, double *t)
{
    int k = 0;
    while (k + 1 < size && grid_count(k + 1) <= n) k++;
    *lo = k;
    *hi = k + 1 < size && grid_count(k) < n ? k + 1 : k;
    const double n0 = (double)grid_count(*lo), n1 = (double)grid_count(*hi);
    *t = *hi == *lo ? 0 : (log((double)n) - log(n0)) / (log(n1) - log(n0));
}

/* The law at count n: exact at 1, from the grid up to its top, the leading
 * order beyond (where a = 0, b = 1, and the rest is second order). */
static subset_law law_at(const pool *P, const subset_law *grid, int size, int64_t n)
{
    subset_law L = {n, 0, 0, 0, 0, 0, 0};
    if (n == 1) {
        L.g = P->g1, L.a = 1;
        return L;
    }
    if (size == 0 || n > grid_count(size - 1)) {
        L.g = P->H_mu - P->T_N * (double)(P->N - n) / (double)n;
        L.b = 1;
        return L;
    }
    int lo, hi;
    double t;
    grid_bracket(n, size, &lo, &hi, &t);
    const subset_law *A = &grid[lo], *B = &grid[hi];
    /* n J(n) and n^2 s2 vary slowly in log n; a and b are interpolated as they are */
    const double nJ = (1 - t) * (double)A->n * (P->H_mu - A->g) + t * (double)B->n * (P->H_mu - B->g);
    L.g = P->H_mu - nJ / (double)n;
    L.a = (1 - t) * A->a + t * B->a;
    L.b = (1 - t) * A->b + t * B->b;
    const double n2 = (double)n * (double)n;
    L.s2 = ((1 - t) * (double)A->n * (double)A->n * A->s2 + t * (double)B->n * (double)B->n * B->s2) / n2;
    L.var_g = ((1 - t) * (double)A->n * (double)A->n * A->var_g + t * (double)B->n * (double)B->n * B->var_g) / n2;
    return L;
}

/* ---- one label set ------------------------------------------------------- */

typedef struct {
    int64_t n, values;
} count_class;

static int cmp_i64(const void *x, const void *y)
{
    const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* The set's values' counts as (count, values with it), ascending. */
static int count_classes(const se_labelset *s, count_class **out, int64_t *n_out)
{
    const se_sums *sums = &s->real;
    int64_t k = 0;
    int64_t *c = malloc(sizeof *c * (size_t)(s->lab->n_stored + 1));
    if (!c) return se_fail(SOFTENT_E_NOMEM, "out of memory for the scaled null");
    for (int64_t slot = 0; slot < s->lab->n_stored; slot++)
        if (sums->seen[slot] > 0) c[k++] = sums->seen[slot];
    qsort(c, (size_t)k, sizeof *c, cmp_i64);
    count_class *cls = malloc(sizeof *cls * (size_t)(k + 1));
    if (!cls) {
        free(c);
        return se_fail(SOFTENT_E_NOMEM, "out of memory for the scaled null");
    }
    int64_t n = 0;
    if (sums->single_seen > 0) cls[n++] = (count_class){1, sums->single_seen};
    for (int64_t i = 0; i < k; i++) {
        if (n > 0 && cls[n - 1].n == c[i]) cls[n - 1].values++;
        else cls[n++] = (count_class){c[i], 1};
    }
    free(c);
    *out = cls;
    *n_out = n;
    return SOFTENT_OK;
}

/* The null's mean and variance for a set whose values' counts are cls. */
static void set_null(const softent_acc *acc, const pool *P, const subset_law *grid, int size, const double Ge[2][2],
                     const count_class *cls, int64_t n_cls, se_scaled_null *out)
{
    const int uniform = acc->p.weighting == SOFTENT_WEIGHT_UNIFORM;
    int64_t Ns = 0, K = 0;
    for (int64_t c = 0; c < n_cls; c++) Ns += cls[c].n * cls[c].values, K += cls[c].values;
    const double W = uniform ? (double)K : (double)Ns;
    /* H(Z) over the kept rows: a random Ns-subset of the pool under a permutation */
    double mean = P->H_mu - (Ns < P->N ? P->T_N * (double)(P->N - Ns) / (double)Ns : 0);
    double var_res = 0, var_mean = 0, du_sum = 0, dv_sum = 0;
    double (*d)[2] = malloc(sizeof *d * (size_t)(n_cls ? n_cls : 1));
    if (!d) {
        out->done = 0;
        return;
    }
    for (int64_t c = 0; c < n_cls; c++) {
        const int64_t n = cls[c].n;
        const subset_law L = law_at(P, grid, size, n);
        const double w = (uniform ? 1.0 : (double)n) / W;
        mean -= (double)cls[c].values * w * L.g;
        var_res += (double)cls[c].values * w * w * L.s2;
        var_mean += (double)cls[c].values * w * (double)cls[c].values * w * L.var_g;
        /* each of the value's rows carries this much of I's linear part */
        d[c][0] = -w * L.a / (double)n;
        d[c][1] = 1.0 / (double)Ns - w * L.b / (double)n;
        du_sum += (double)(cls[c].values * n) * d[c][0];
        dv_sum += (double)(cls[c].values * n) * d[c][1];
    }
    /* the pool's rows whose labels are dropped carry nothing */
    const double N = (double)P->N, dbar[2] = {du_sum / N, dv_sum / N};
    double Gd[2][2] = {{0, 0}, {0, 0}};
    for (int64_t c = 0; c < n_cls; c++)
        for (int k = 0; k < 2; k++)
            for (int l = 0; l < 2; l++)
                Gd[k][l] += (double)(cls[c].values * cls[c].n) * (d[c][k] - dbar[k]) * (d[c][l] - dbar[l]);
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < 2; l++) Gd[k][l] += (N - (double)Ns) * dbar[k] * dbar[l];
    free(d);
    double var_lin = 0;
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < 2; l++) var_lin += Ge[k][l] * Gd[k][l];
    var_lin /= N - 1;
    out->done = 1;
    out->mean = K > 1 ? mean : NAN;
    out->sd = K > 1 ? sqrt(fmax(0, var_lin) + var_res) : 0;
    out->mean_sd = sqrt(var_mean);
}

/* ---- every set ----------------------------------------------------------- */

/* Subsets a grid point draws: 16 per value whose count reads it (so the
 * Monte Carlo error stays a quarter of the null's sd), at least 256, at
 * most 2^22 rows' worth. */
static int64_t samples_for(int64_t values, int64_t n)
{
    int64_t s = 16 * values;
    if (s < 256) s = 256;
    const int64_t cap = ((int64_t)1 << 22) / n;
    return s > cap ? (cap > 64 ? cap : 64) : s;
}

int se_scaled_null_run(softent_acc *acc)
{
    const se_reservoir *r = &acc->reservoir;
    const int64_t m = acc->m, M = r->n;
    for (int k = 0; k < acc->n_sets; k++) acc->sets[k].scaled.done = 0;
    if (r->offered < 2 || M < 1) return SOFTENT_OK;
    int rc = se_reservoir_sort(&acc->reservoir, m);
    if (rc) return rc;
    pool P = {r, m, r->offered, 0, r->h_sum / (double)r->offered, 0, NULL};
    P.H_mu = se_entropy(acc->total, m);
    P.T_N = se_taylor_bias(acc->total, acc->total_sq, P.N, m);
    P.ell = malloc(sizeof *P.ell * (size_t)M);
    double *lmu = malloc(sizeof *lmu * (size_t)m);
    int size = grid_size(M / 2);
    subset_law *grid = calloc((size_t)(size ? size : 1), sizeof *grid);
    count_class **cls = calloc((size_t)(acc->n_sets ? acc->n_sets : 1), sizeof *cls);
    int64_t *n_cls = calloc((size_t)(acc->n_sets ? acc->n_sets : 1), sizeof *n_cls);
    rc = P.ell && lmu && grid && cls && n_cls ? SOFTENT_OK : se_fail(SOFTENT_E_NOMEM, "out of memory for the scaled null");
    if (!rc) {
        /* l_i = grad H(mu) . (p_i - mu), efficiency: its pool mean is exactly 0 */
        const double inv_log_m = 1.0 / log((double)m);
        for (int64_t j = 0; j < m; j++) lmu[j] = log(fmax(acc->total[j] / (double)P.N, 1e-300));
        for (int64_t i = 0; i < M; i++) {
            const float *p = r->p + i * m;
            double l = 0;
            for (int64_t j = 0; j < m; j++) l -= lmu[j] * ((double)p[j] - acc->total[j] / (double)P.N);
            P.ell[i] = l * inv_log_m;
        }
    }
    /* the pool's Gram of (h, l), estimated from the reservoir */
    double Ge[2][2] = {{0, 0}, {0, 0}};
    if (!rc && M > 1) {
        double mh = 0, ml = 0;
        for (int64_t i = 0; i < M; i++) mh += r->h[i], ml += P.ell[i];
        mh /= (double)M, ml /= (double)M;
        for (int64_t i = 0; i < M; i++) {
            const double e[2] = {r->h[i] - mh, P.ell[i] - ml};
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) Ge[a][b] += e[a] * e[b];
        }
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) Ge[a][b] *= (double)P.N / (double)(M - 1);
    }
    /* how many values read each grid point, over every set */
    int64_t *need = calloc((size_t)(size ? size : 1), sizeof *need);
    if (!rc && !need) rc = se_fail(SOFTENT_E_NOMEM, "out of memory for the scaled null");
    for (int k = 0; k < acc->n_sets && !rc; k++) {
        rc = count_classes(&acc->sets[k], &cls[k], &n_cls[k]);
        int64_t *mine = calloc((size_t)(size ? size : 1), sizeof *mine);
        if (!rc && !mine) rc = se_fail(SOFTENT_E_NOMEM, "out of memory for the scaled null");
        for (int64_t c = 0; c < n_cls[k] && !rc; c++) {
            const int64_t n = cls[k][c].n;
            if (n < 2 || size == 0 || n > grid_count(size - 1)) continue;
            int lo, hi;
            double t;
            grid_bracket(n, size, &lo, &hi, &t);
            mine[lo] += cls[k][c].values;
            if (hi != lo) mine[hi] += cls[k][c].values;
        }
        for (int g = 0; g < size && !rc; g++)
            if (mine[g] > need[g]) need[g] = mine[g];
        free(mine);
    }
    int failed = 0;
    if (!rc) {
        #pragma omp parallel for schedule(dynamic, 1) reduction(| : failed)
        for (int g = 0; g < size; g++) {
            grid[g].n = grid_count(g);
            if (!need[g]) continue;
            grid[g].samples = samples_for(need[g], grid[g].n);
            failed |= estimate_law(&P, &grid[g], acc->p.null_seed);
        }
        if (failed) rc = se_fail(SOFTENT_E_NOMEM, "out of memory for the scaled null");
    }
    for (int k = 0; k < acc->n_sets && !rc; k++) set_null(acc, &P, grid, size, Ge, cls[k], n_cls[k], &acc->sets[k].scaled);
    for (int k = 0; k < acc->n_sets && cls; k++) free(cls[k]);
    free(cls), free(n_cls), free(need), free(grid), free(lmu), free(P.ell);
    return rc;
}
