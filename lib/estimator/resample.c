/* resample.c - the replayed null and the bootstrap (see resample.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "accumulator.h"
#include "common/error.h"
#include "common/fastmath.h"
#include "common/hash.h"
#include "common/threads.h"
#include "permute.h"

int se_rowstore_reserve(se_rowstore *rs, int64_t n, int64_t m)
{
    if (n <= rs->cap) return SOFTENT_OK;
    int64_t cap = rs->cap ? rs->cap : 4096;
    while (cap < n) cap *= 2;
    float *p = realloc(rs->p, (size_t)(cap * m) * sizeof *p);
    if (p) rs->p = p;
    float *h = realloc(rs->h, (size_t)cap * sizeof *h);
    if (h) rs->h = h;
    unsigned char *ok = realloc(rs->ok, (size_t)cap);
    if (ok) rs->ok = ok;
    if (!p || !h || !ok) return se_fail(SOFTENT_E_NOMEM, "out of memory storing %lld rows' soft assignments for the null and the bootstrap", (long long)n);
    memset(rs->ok + rs->cap, 0, (size_t)(cap - rs->cap));
    rs->cap = cap;
    return SOFTENT_OK;
}

void se_rowstore_free(se_rowstore *rs)
{
    free(rs->p);
    free(rs->h);
    free(rs->ok);
    memset(rs, 0, sizeof *rs);
}

int64_t se_poisson_weight(uint64_t seed, int b, int64_t g)
{
    uint64_t x = se_mix64(se_mix64(seed ^ 0x626f6f7473747270ULL) ^ se_mix64((uint64_t)b * 0x9e3779b97f4a7c15ULL + 1) ^ (uint64_t)g);
    double u = (double)(se_mix64(x) >> 11) * 0x1p-53;
    /* inverse CDF of Poisson(1): P(k) = e^-1 / k! */
    double p = exp(-1.0), cdf = p;
    int64_t k = 0;
    while (u > cdf && k < 30) {
        k++;
        p /= (double)k;
        cdf += p;
    }
    return k;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The standard normal quantile at p in (0, 1), by bisection on erfc. */
static double normal_quantile(double p)
{
    double a = -40, b = 40;
    for (int i = 0; i < 200; i++) {
        double mid = (a + b) / 2;
        if (0.5 * erfc(-mid / M_SQRT2) < p) a = mid;
        else b = mid;
    }
    return (a + b) / 2;
}

void se_interval(const double *v, int n, double est, double level, double extra_sd, double *lo, double *hi)
{
    *lo = *hi = NAN;
    double *s = malloc((size_t)(n > 0 ? n : 1) * sizeof *s);
    if (!s || !isfinite(est)) { free(s); return; }
    int k = 0;
    double mean = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) s[k++] = v[i], mean += v[i];
    if (k >= 2) {
        mean /= k;
        qsort(s, (size_t)k, sizeof *s, cmp_double);
        /* the type-7 quantile (linear between order statistics), as NumPy's default */
        double a = (1 - level) / 2, q[2];
        for (int t = 0; t < 2; t++) {
            double h = (k - 1) * (t ? 1 - a : a);
            int i = (int)floor(h);
            q[t] = i + 1 < k ? s[i] + (h - i) * (s[i + 1] - s[i]) : s[k - 1];
        }
        *lo = est + q[0] - mean;
        *hi = est + q[1] - mean;
        if (extra_sd > 0 && isfinite(extra_sd)) {
            /* an independent normal part of the noise: half-widths add in
             * quadrature with its z * sd */
            const double z = normal_quantile(1 - a) * extra_sd;
            *lo = est - sqrt((est - *lo) * (est - *lo) + z * z);
            *hi = est + sqrt((*hi - est) * (*hi - est) + z * z);
        }
    }
    free(s);
}

/* dst += w p over m bins (a row's share of its value's sum). */
SE_HOT static void add_row(double *restrict dst, const float *restrict p, double w, int64_t m)
{
    for (int64_t j = 0; j < m; j++) dst[j] += w * (double)p[j];
}

/* One replicate's sums for label set s: row i contributes weight[i] times
 * its p to the slot of its label, read through src[i] (a permuted row) or
 * directly.  Threads own slots (s % T) and columns of the totals, so the
 * sums do not depend on the thread count.  A set that drops no value keeps
 * every row, so its totals are the replicate's `shared` ones (or, for a
 * permutation, the real ones), copied rather than summed again. */
static void fill(se_sums *buf, const softent_acc *acc, const se_labelset *s, const int64_t *src, const int32_t *weight,
                 int64_t n, const se_sums *shared)
{
    const int64_t m = acc->m, n_stored = s->lab->n_stored;
    const se_rowstore *rs = &acc->rowstore;
    int64_t kept_rows = 0, single_seen = 0;
    double single_h = 0;
    #pragma omp parallel reduction(+ : kept_rows, single_seen, single_h)
    {
        const int tid = se_thread_id(), nt = se_thread_count();
        const int64_t j0 = m * tid / nt, j1 = m * (tid + 1) / nt;
        for (int64_t slot = tid; slot < n_stored; slot += nt) {
            memset(buf->sums + slot * m, 0, (size_t)m * sizeof *buf->sums);
            buf->seen[slot] = 0;
        }
        for (int64_t j = j0; j < j1; j++) {
            buf->kept_total[j] = shared ? shared->kept_total[j] : 0;
            buf->kept_sq[j] = shared ? shared->kept_sq[j] : 0;
        }
        const int64_t cj0 = shared ? j1 : j0; /* no columns to sum with shared totals */
        for (int64_t i = 0; i < n; i++) {
            const int64_t w = weight ? weight[i] : 1;
            if (!rs->ok[i] || w == 0) continue;
            const int32_t slot = s->lab->value_slot[s->lab->row_value[src ? src[i] : i]];
            if (slot == SLOT_DROPPED) continue;
            const float *p = rs->p + i * m;
            if (slot >= 0 && slot % nt == tid) {
                add_row(buf->sums + (int64_t)slot * m, p, (double)w, m);
                buf->seen[slot] += w;
            }
            for (int64_t j = cj0; j < j1; j++) {
                buf->kept_total[j] += (double)w * p[j];
                buf->kept_sq[j] += (double)w * p[j] * p[j];
            }
            if (tid == 0) {
                kept_rows += w;
                if (slot == SLOT_SINGLE) single_seen += w, single_h += (double)w * rs->h[i];
            }
        }
    }
    buf->kept_rows = shared ? shared->kept_rows : kept_rows;
    buf->single_seen = single_seen;
    buf->single_h = single_h;
}

/* se_entropy with the vectorised log: the replicates' entropies are most
 * of their cost. */
SE_HOT static double replicate_entropy(const double *c, int64_t m)
{
    double total = 0;
    for (int64_t j = 0; j < m; j++) total += c[j];
    if (!(total > 0)) return NAN;
    const double inv = 1.0 / total;
    double h = 0;
    #pragma omp simd reduction(+ : h)
    for (int64_t j = 0; j < m; j++) {
        double q = c[j] * inv, qf = q > 1e-9 ? q : 1e-9;
        h -= q * se_log_pos(qf);
    }
    return h / log((double)m);
}

/* H, plug-in I and curve-corrected I of a filled buffer.  The curve J is
 * the real sample's, applied at each value's real count: duplicated rows
 * in a replicate add no rows of their own. */
static void replicate_measures(const softent_acc *acc, const se_labelset *s, const se_sums *buf, double *hbuf,
                               const double *J, int top, double *H, double *mi, double *mi_curve)
{
    const int64_t m = acc->m, n_stored = s->lab->n_stored;
    const int uniform = acc->p.weighting == SOFTENT_WEIGHT_UNIFORM;
    /* the entropies in parallel, their sum in slot order (thread-count free) */
    #pragma omp parallel for schedule(static)
    for (int64_t slot = 0; slot < n_stored; slot++)
        hbuf[slot] = buf->seen[slot] ? replicate_entropy(buf->sums + slot * m, m) : 0;
    double plug = 0, curve = 0, weight = 0;
    for (int64_t slot = 0; slot < n_stored; slot++) {
        const int64_t seen = buf->seen[slot];
        if (seen == 0) continue;
        const double h = hbuf[slot], w = uniform ? 1.0 : (double)seen;
        plug += w * h;
        curve += w * (h + (top >= 0 ? se_curve_bias(J, top, s->real.seen[slot]) : NAN));
        weight += w;
    }
    plug += buf->single_h;
    curve += buf->single_h + (double)buf->single_seen * (top >= 0 ? J[0] : NAN);
    weight += (double)buf->single_seen;
    *H = se_entropy(buf->kept_total, m);
    *mi = weight > 0 ? *H - plug / weight : NAN;
    *mi_curve = weight > 0 ? *H + se_taylor_bias(buf->kept_total, buf->kept_sq, buf->kept_rows, m) - curve / weight : NAN;
}

/* The curve's share of H(Z|X): the mean over rows (or values) of J(n_x). */
static double curve_share(const softent_acc *acc, const se_labelset *s, const double *J, int top)
{
    const int uniform = acc->p.weighting == SOFTENT_WEIGHT_UNIFORM;
    double sum = 0, weight = 0;
    for (int64_t slot = 0; slot < s->lab->n_stored; slot++) {
        const int64_t seen = s->real.seen[slot];
        if (seen == 0) continue;
        const double w = uniform ? 1.0 : (double)seen;
        sum += w * se_curve_bias(J, top, seen);
        weight += w;
    }
    sum += (double)s->real.single_seen * J[0];
    weight += (double)s->real.single_seen;
    return weight > 0 ? sum / weight : 0;
}

/* The sd of the curve's share from the sampling noise of its levels: the
 * bootstrap replays rows with the curve held fixed, so this part of the
 * corrected I's noise widens its interval (se_interval's extra_sd). */
double se_curve_sd(const struct softent_acc *acc, const struct se_labelset *s)
{
    double D[SE_CURVE_LEVELS], var[SE_CURVE_LEVELS], J[SE_CURVE_LEVELS + 1];
    int top = se_curve_levels(&s->real.curve, D, var);
    if (top < 0) return 0;
    se_curve_from_levels(D, top, J);
    const double base = curve_share(acc, s, J, top);
    double total = 0;
    for (int a = 0; a < top; a++) {
        const double step = 1e-4 * (fabs(D[a]) + 1e-3), keep = D[a];
        D[a] = keep + step;
        se_curve_from_levels(D, top, J);
        const double slope = (curve_share(acc, s, J, top) - base) / step;
        D[a] = keep;
        total += slope * slope * var[a];
    }
    return sqrt(total);
}

int se_resample(softent_acc *acc)
{
    const int R = acc->null_replayed ? acc->p.null_perms : 0, B = acc->p.bootstrap;
    if ((R == 0 && B == 0) || acc->resampled) return SOFTENT_OK;
    const int64_t m = acc->m, n = acc->rows_end;
    int64_t max_stored = 0;
    for (int k = 0; k < acc->n_sets; k++)
        if (acc->sets[k].lab->n_stored > max_stored) max_stored = acc->sets[k].lab->n_stored;
    se_sums buf;
    int rc = se_sums_alloc(&buf, max_stored, m, 0);
    int64_t *src = R ? malloc((size_t)n * sizeof *src + 1) : NULL;
    int32_t *weight = B ? malloc((size_t)n * sizeof *weight + 1) : NULL;
    double *hbuf = malloc((size_t)max_stored * sizeof *hbuf + 1);
    if (!hbuf && !rc) rc = se_fail(SOFTENT_E_NOMEM, "out of memory for the replicates");
    double *total = B ? malloc((size_t)(2 * m) * sizeof *total) : NULL;
    /* the totals of a set that drops nothing: the real ones under a
     * permutation, the replicate's own in the bootstrap */
    se_sums real_totals = {.kept_total = acc->total, .kept_sq = acc->total_sq, .kept_rows = acc->rows - acc->skipped};
    se_sums boot_totals = {0};
    if (!rc && ((R && !src) || (B && (!weight || !total)))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory for the replicates");
    for (int k = 0; k < acc->n_sets && !rc; k++) {
        se_replicates *rep = &acc->sets[k].rep;
        if (R && !(rep->null_mi = calloc((size_t)R, sizeof *rep->null_mi))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
        if (B && !(rep->boot = calloc((size_t)B * SE_BOOT_NV, sizeof *rep->boot))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
    }
    if (!rc && B && !(acc->boot_H = calloc((size_t)B, sizeof *acc->boot_H))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
    for (int r = 0; r < R && !rc; r++) {
        se_permutation perm;
        se_permutation_init(&perm, (uint64_t)acc->sets[0].lab->n_rows, acc->p.null_seed, (uint64_t)r);
        #pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) src[i] = (int64_t)se_permutation_apply(&perm, (uint64_t)i);
        for (int k = 0; k < acc->n_sets; k++) {
            se_labelset *s = &acc->sets[k];
            double H, curve;
            fill(&buf, acc, s, src, NULL, n, s->lab->n_dropped ? NULL : &real_totals);
            replicate_measures(acc, s, &buf, hbuf, NULL, -1, &H, &s->rep.null_mi[r], &curve);
        }
    }
    for (int b = 0; b < B && !rc; b++) {
        const int64_t *group = acc->groups ? acc->groups->id : NULL;
        #pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) weight[i] = (int32_t)se_poisson_weight(acc->p.bootstrap_seed, b, group ? group[i] : i);
        boot_totals.kept_total = total, boot_totals.kept_sq = total + m, boot_totals.kept_rows = 0;
        for (int64_t j = 0; j < 2 * m; j++) total[j] = 0;
        for (int64_t i = 0; i < n; i++)
            if (acc->rowstore.ok[i] && weight[i]) {
                const float *p = acc->rowstore.p + i * m;
                for (int64_t j = 0; j < m; j++) {
                    total[j] += weight[i] * (double)p[j];
                    total[m + j] += weight[i] * (double)p[j] * p[j];
                }
                boot_totals.kept_rows += weight[i];
            }
        acc->boot_H[b] = se_entropy(total, m);
        for (int k = 0; k < acc->n_sets; k++) {
            se_labelset *s = &acc->sets[k];
            double J[SE_CURVE_LEVELS + 1], *v = s->rep.boot + (int64_t)b * SE_BOOT_NV;
            int top = se_curve_fit(&s->real.curve, J);
            fill(&buf, acc, s, NULL, weight, n, s->lab->n_dropped ? NULL : &boot_totals);
            replicate_measures(acc, s, &buf, hbuf, J, top, &v[SE_BOOT_H], &v[SE_BOOT_MI], &v[SE_BOOT_MI_CURVE]);
        }
    }
    se_sums_free(&buf);
    free(hbuf);
    free(src);
    free(weight);
    free(total);
    if (!rc) acc->resampled = 1;
    return rc;
}
