/* resample.c - the replayed null and the bootstrap (see resample.h). */
#define _GNU_SOURCE /* mremap */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accumulator.h"
#include "common/error.h"
#include "common/fastmath.h"
#include "common/hash.h"
#include "common/threads.h"
#include "permute.h"

int se_rowstore_spill(se_rowstore *rs, const char *dir)
{
    if (rs->cap) return se_fail(SOFTENT_E_ORDER, "the stored rows are spilled from the first row on");
    free(rs->spill_dir);
    if (!(rs->spill_dir = strdup(dir))) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    return SOFTENT_OK;
}

/* p's mapping grown to `bytes`: the file's blocks allocated first, so that
 * a full disk is an error here rather than a SIGBUS on a later write. */
static int spill_grow(se_rowstore *rs, size_t bytes)
{
    if (!rs->mapped) {
        char path[4096];
        snprintf(path, sizeof path, "%s/softent-rows-XXXXXX", rs->spill_dir);
        if ((rs->fd = mkstemp(path)) < 0)
            return se_fail(SOFTENT_E_IO, "%s: cannot create a file for the stored rows (--spill-dir): %s", rs->spill_dir, strerror(errno));
        unlink(path); /* gone with the process, whatever ends it */
    }
    int err = posix_fallocate(rs->fd, (off_t)rs->mapped, (off_t)(bytes - rs->mapped));
    if (err) return se_fail(SOFTENT_E_IO, "%s: no room for %zu MB of stored rows (--spill-dir): %s", rs->spill_dir, bytes >> 20, strerror(err));
    void *p = rs->mapped ? mremap(rs->p, rs->mapped, bytes, MREMAP_MAYMOVE) : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, rs->fd, 0);
    if (p == MAP_FAILED) return se_fail(SOFTENT_E_NOMEM, "%s: cannot map %zu MB of stored rows: %s", rs->spill_dir, bytes >> 20, strerror(errno));
    rs->p = p;
    rs->mapped = bytes;
    return SOFTENT_OK;
}

int se_rowstore_reserve(se_rowstore *rs, int64_t n, int64_t m)
{
    if (n <= rs->cap) return SOFTENT_OK;
    int64_t cap = rs->cap ? rs->cap : 4096;
    while (cap < n) cap *= 2;
    if (rs->spill_dir) {
        int rc = spill_grow(rs, (size_t)(cap * m) * sizeof *rs->p);
        if (rc) return rc;
    }
    float *p = rs->spill_dir ? rs->p : realloc(rs->p, (size_t)(cap * m) * sizeof *p);
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

void se_rowstore_release(const se_rowstore *rs, int64_t r0, int64_t r1, int64_t m)
{
    if (!rs->mapped || r1 <= r0) return;
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t from = ((size_t)(r0 * m) * sizeof *rs->p + page - 1) / page * page, to = (size_t)(r1 * m) * sizeof *rs->p / page * page;
    if (to > from) madvise((char *)rs->p + from, to - from, MADV_DONTNEED);
}

void se_rowstore_free(se_rowstore *rs)
{
    if (rs->mapped) {
        munmap(rs->p, rs->mapped);
        close(rs->fd);
    } else {
        free(rs->p);
    }
    free(rs->spill_dir);
    free(rs->h);
    free(rs->ok);
    memset(rs, 0, sizeof *rs);
}

int64_t se_poisson_weight(uint64_t seed, int b, int64_t g)
{
    /* the CDF of Poisson(1), e^-1 sum_{j <= k} 1/j! */
    static const double cdf[] = {
        0.36787944117144233, 0.7357588823428847, 0.9196986029286058, 0.9810118431238463, 0.9963401531726563,
        0.9994058151824183, 0.999916758850712, 0.9999897508033253, 0.999998874797402, 0.9999998885745216,
        0.9999999899522336, 0.9999999991683892, 0.9999999999364022, 0.9999999999954802, 0.9999999999997,
        0.9999999999999813, 0.9999999999999989, 0.9999999999999999};
    uint64_t x = se_mix64(se_mix64(seed ^ 0x626f6f7473747270ULL) ^ se_mix64((uint64_t)b * 0x9e3779b97f4a7c15ULL + 1) ^ (uint64_t)g);
    double u = (double)(se_mix64(x) >> 11) * 0x1p-53;
    int64_t k = 0;
    while (k < (int64_t)(sizeof cdf / sizeof *cdf) && u > cdf[k]) k++;
    return k;
}

/* Whether row i (> 0) starts a run: a new group, or new labels in any set. */
static int starts_run(const softent_acc *acc, int64_t i)
{
    if (acc->groups->id[i] != acc->groups->id[i - 1]) return 1;
    for (int k = 0; k < acc->n_sets; k++)
        if (acc->sets[k].lab->row_value[i] != acc->sets[k].lab->row_value[i - 1]) return 1;
    return 0;
}

int se_null_units_init(softent_acc *acc)
{
    se_null_units *u = &acc->null_units;
    const int64_t n_rows = acc->n_sets > 0 ? acc->sets[0].lab->n_rows : 0;
    free(u->first);
    free(u->block);
    free(u->block_end);
    *u = (se_null_units){.n = n_rows};
    if (!acc->p.null_groups || acc->p.null_perms == 0) return SOFTENT_OK;
    if (!acc->groups) return se_fail(SOFTENT_E_INVALID, "a null over groups needs the rows' groups (softent_acc_count_groups)");
    int64_t runs = n_rows > 0;
    for (int64_t i = 1; i < n_rows; i++) runs += starts_run(acc, i);
    if (!(u->first = malloc(((size_t)runs + 1) * sizeof *u->first))) return se_fail(SOFTENT_E_NOMEM, "out of memory for the null's groups");
    u->n = 0;
    for (int64_t i = 0; i < n_rows; i++)
        if (i == 0 || starts_run(acc, i)) u->first[u->n++] = i;
    u->first[u->n] = n_rows;
    if (acc->p.null_groups != 2) return SOFTENT_OK;
    u->within = 1;
    u->block = malloc(((size_t)u->n + 1) * sizeof *u->block);
    u->block_end = malloc(((size_t)u->n + 1) * sizeof *u->block_end);
    if (!u->block || !u->block_end) return se_fail(SOFTENT_E_NOMEM, "out of memory for the null's groups");
    const int64_t *g = acc->groups->id;
    for (int64_t k = 0; k < u->n; k++)
        u->block[k] = k > 0 && g[u->first[k]] == g[u->first[k - 1]] ? u->block[k - 1] : k;
    for (int64_t k = u->n - 1; k >= 0; k--)
        u->block_end[k] = k + 1 < u->n && u->block[k + 1] == u->block[k] ? u->block_end[k + 1] : k + 1;
    return SOFTENT_OK;
}

/* Run k's partner under permutation perm when runs move only within their
 * group: the group's own permutation, keyed by perm's key and the group. */
static int64_t within_group(const se_null_units *u, const se_permutation *perm, int64_t k)
{
    const int64_t b = u->block[k], size = u->block_end[k] - b;
    if (size == 1) return k;
    se_permutation local;
    se_permutation_init(&local, (uint64_t)size, perm->keys[0] ^ se_mix64((uint64_t)b), 0);
    return b + (int64_t)se_permutation_apply(&local, (uint64_t)(k - b));
}

int64_t se_null_source(const se_null_units *u, const se_permutation *perm, int64_t i)
{
    if (!u->first) return (int64_t)se_permutation_apply(perm, (uint64_t)i);
    int64_t lo = 0, hi = u->n; /* the run holding i: first[lo] <= i < first[hi] */
    while (hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (u->first[mid] <= i) lo = mid;
        else hi = mid;
    }
    return u->first[u->within ? within_group(u, perm, lo) : (int64_t)se_permutation_apply(perm, (uint64_t)lo)];
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

/* dst += p over m bins (a row's share of its value's sum). */
SE_HOT static void add_row(double *restrict dst, const float *restrict p, int64_t m)
{
    for (int64_t j = 0; j < m; j++) dst[j] += (double)p[j];
}

/* The sums of label set s under a permutation: row i's p goes to the slot
 * of row src[i]'s label.  Threads own slots (s % T) and columns of the
 * totals, so the sums do not depend on the thread count.  A set that drops
 * no value keeps every row, so its totals are the real ones, copied; one
 * that drops values keeps the rows whose permuted label it keeps. */
static void fill(se_sums *buf, const softent_acc *acc, const se_labelset *s, const int64_t *src, int64_t n)
{
    const int64_t m = acc->m, n_stored = s->lab->n_stored;
    const se_rowstore *rs = &acc->rowstore;
    const int shared = s->lab->n_dropped == 0;
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
            buf->kept_total[j] = shared ? acc->total[j] : 0;
            buf->kept_sq[j] = shared ? acc->total_sq[j] : 0;
        }
        const int64_t cj0 = shared ? j1 : j0; /* no columns to sum with the real totals */
        for (int64_t c0 = 0; c0 < n; c0 += SE_ROWSTORE_CHUNK) {
            const int64_t c1 = se_chunk_end(c0, n);
            for (int64_t i = c0; i < c1; i++) {
                if (!rs->ok[i]) continue;
                const int32_t slot = se_replay_slots(s->lab)[s->lab->row_value[src[i]]];
                if (slot == SLOT_DROPPED) continue;
                const float *p = rs->p + i * m;
                if (slot >= 0 && slot % nt == tid) {
                    add_row(buf->sums + (int64_t)slot * m, p, m);
                    buf->seen[slot]++;
                }
                for (int64_t j = cj0; j < j1; j++) {
                    buf->kept_total[j] += p[j];
                    buf->kept_sq[j] += (double)p[j] * p[j];
                }
                if (tid == 0) {
                    kept_rows++;
                    if (slot == SLOT_SINGLE) single_seen++, single_h += rs->h[i];
                }
            }
            se_rowstore_release(rs, c0, c1, m);  /* by each thread: the last one to read it drops it */
        }
    }
    buf->kept_rows = shared ? acc->rows - acc->skipped : kept_rows;
    buf->single_seen = single_seen;
    buf->single_h = single_h;
}

/* The plug-in I of a filled buffer; hbuf [n_stored] is scratch. */
static double replicate_mi(const softent_acc *acc, const se_labelset *s, const se_sums *buf, double *hbuf)
{
    const int64_t m = acc->m, n_stored = s->lab->n_stored;
    const int uniform = acc->p.weighting == SOFTENT_WEIGHT_UNIFORM;
    /* the entropies in parallel, their sum in slot order (thread-count free) */
    #pragma omp parallel for schedule(static)
    for (int64_t slot = 0; slot < n_stored; slot++)
        hbuf[slot] = buf->seen[slot] ? se_entropy(buf->sums + slot * m, m) : 0;
    double plug = 0, weight = 0;
    for (int64_t slot = 0; slot < n_stored; slot++) {
        const int64_t seen = buf->seen[slot];
        if (seen == 0) continue;
        const double w = uniform ? 1.0 : (double)seen;
        plug += w * hbuf[slot];
        weight += w;
    }
    plug += buf->single_h;
    weight += (double)buf->single_seen;
    return weight > 0 ? se_entropy(buf->kept_total, m) - plug / weight : NAN;
}

/* The curve's share of H(Z|X): the mean over rows (or values) of J(n_x). */
static double curve_share(const softent_acc *acc, const se_labelset *s, const double *J, int top)
{
    const int uniform = acc->p.weighting == SOFTENT_WEIGHT_UNIFORM;
    double sum = 0, weight = 0;
    /* streaming stores values seen once; they join the singletons, summed
     * last as in the counted mode (se_curve_sd differentiates this sum
     * numerically, which would magnify a different order's rounding) */
    int64_t singles = s->real.single_seen;
    for (int64_t slot = 0; slot < s->lab->n_stored; slot++) {
        const int64_t seen = s->real.seen[slot];
        if (seen == 0) continue;
        if (seen == 1 && acc->streaming) { singles++; continue; }
        const double w = uniform ? 1.0 : (double)seen;
        sum += w * se_curve_bias(J, top, seen);
        weight += w;
    }
    sum += (double)singles * J[0];
    weight += (double)singles;
    return weight > 0 ? sum / weight : 0;
}

/* The sd of the curve's share from the sampling noise of its levels: the
 * bootstrap replays rows with the curve held fixed, so this part of the
 * corrected I's noise widens its interval (se_interval's extra_sd). */
double se_curve_sd(const struct softent_acc *acc, const struct se_labelset *s)
{
    se_curve_read r;
    double J[SE_CURVE_LEVELS + 1];
    const int top = se_curve_levels(&s->real.curve, &r);
    if (top < 0) return 0;
    se_curve_from_levels(&r, J);
    const double base = curve_share(acc, s, J, top);
    double total = 0;
    for (int a = 0; a < top; a++) {
        const double step = 1e-4 * (fabs(r.D[a]) + 1e-3), keep = r.D[a];
        r.D[a] = keep + step;
        se_curve_from_levels(&r, J);
        const double slope = (curve_share(acc, s, J, top) - base) / step;
        r.D[a] = keep;
        total += slope * slope * r.var[a];
    }
    return sqrt(total);
}

/* -sum_j (p_j - mean_j) log mean_j with mean = sum / total (the row's b_i),
 * with the vectorised log: it runs once per row and label set. */
SE_HOT static double row_b(const float *restrict p, const double *restrict sum, double total, int64_t m)
{
    const double inv = 1.0 / total;
    double b = 0;
    #pragma omp simd reduction(+ : b)
    for (int64_t j = 0; j < m; j++) {
        const double mean = sum[j] * inv, floored = mean > 1e-9 ? mean : 1e-9;
        b -= ((double)p[j] - mean) * se_log_pos(floored);
    }
    return b;
}

/* The pool's shares q = total / sum(total) and their logs (floored as the
 * entropy is), each [m], for the rows' a_i. */
static void pool_logs(const double *total, int64_t m, double *q, double *lq)
{
    double sum = 0;
    for (int64_t j = 0; j < m; j++) sum += total[j];
    for (int64_t j = 0; j < m; j++) q[j] = total[j] / sum, lq[j] = log(fmax(q[j], 1e-9));
}

/* a_i = -sum_j (p_ij - q_j) log q_j: a row's influence on H(Z) (nats). */
SE_HOT static double row_a(const float *restrict p, const double *restrict q, const double *restrict lq, int64_t m)
{
    double a = 0;
    #pragma omp simd reduction(+ : a)
    for (int64_t j = 0; j < m; j++) a -= ((double)p[j] - q[j]) * lq[j];
    return a;
}

/* d[k] = sum_i (w_i - 1) x[k][i] for replicate b and k < nx, in row order;
 * the weight of consecutive rows of one group (a document) is drawn once. */
static void weighted_changes(const softent_acc *acc, int b, const double *const *x, int nx, int64_t n, double *d)
{
    const int64_t *group = acc->groups ? acc->groups->id : NULL;
    double w = 0;
    int64_t last = 0;
    for (int k = 0; k < nx; k++) d[k] = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t g = group ? group[i] : i;
        if (i == 0 || g != last) w = (double)se_poisson_weight(acc->p.bootstrap_seed, b, g) - 1, last = g;
        for (int k = 0; k < nx; k++) d[k] += w * x[k][i];
    }
}

/* The influence of each row on H, the plug-in I and the curve-corrected I
 * of set s (efficiency units; 0 for a row the set does not keep): the first
 * derivative of each measure in the row's weight, so that a replicate with
 * weights w is est + sum_i (w_i - 1) IF_i / N.  For I = H(q) - sum_x P(x)
 * H(p_x): a_i = -sum_j (p_ij - q_j) log q_j, b_i = -sum_j (p_ij - p_xj) log
 * p_xj, and IF_i = a_i - (H(p_x) - H(Z|X)) - b_i (P(x) weighting) or a_i -
 * N / (K n_x) b_i (uniform); the curve adds -(J(n_x) - mean J). */
static void influence(const softent_acc *acc, const se_labelset *s, const double *J, int top, double *hx,
                      double *q, double *lq, double *if_h, double *if_i, double *if_c)
{
    const int64_t m = acc->m, n = acc->rows_end, n_stored = s->lab->n_stored;
    const se_rowstore *rs = &acc->rowstore;
    const int dropping = s->lab->n_dropped > 0, uniform = acc->p.weighting == SOFTENT_WEIGHT_UNIFORM;
    const double *total = dropping ? s->real.kept_total : acc->total, log_m = log((double)m);
    const double N = (double)(dropping ? s->real.kept_rows : acc->rows - acc->skipped);
    pool_logs(total, m, q, lq);
    double Hc = 0, Cbar = 0, K = (double)s->real.single_seen;
    for (int64_t slot = 0; slot < n_stored; slot++) {
        const int64_t seen = s->real.seen[slot];
        hx[slot] = seen ? se_slot_entropy(acc, &s->real, slot) * log_m : 0;
        Hc += (double)seen * hx[slot];
        Cbar += seen ? (double)seen * se_curve_bias(J, top, seen) : 0;
        K += seen > 0;
    }
    Hc = (Hc + s->real.single_h * log_m) / N;
    Cbar = top >= 0 ? (Cbar + (double)s->real.single_seen * J[0]) / N : 0;
    for (int64_t c0 = 0; c0 < n; c0 += SE_ROWSTORE_CHUNK) {
        const int64_t c1 = se_chunk_end(c0, n);
        #pragma omp parallel for schedule(static)
        for (int64_t i = c0; i < c1; i++) {
            if_h[i] = if_i[i] = if_c[i] = 0;
            if (!rs->ok[i]) continue;
            const int32_t slot = se_replay_slots(s->lab)[s->lab->row_value[i]];
            if (slot == SLOT_DROPPED) continue;
            const float *p = rs->p + i * m;
            const double a = row_a(p, q, lq, m);
            double b = 0, h, nx, jx;
            if (slot >= 0) {
                const double *sum = s->real.sums + (int64_t)slot * m;
                double ssum = 0;
                for (int64_t j = 0; j < m; j++) ssum += sum[j];
                b = row_b(p, sum, ssum, m);
                h = hx[slot], nx = (double)s->real.seen[slot];
            } else {
                h = (double)rs->h[i] * log_m, nx = 1;
            }
            jx = top >= 0 ? se_curve_bias(J, top, (int64_t)nx) : 0;
            const double ii = uniform ? a - N / (K * nx) * b : a - (h - Hc) - b;
            if_h[i] = a / log_m;
            if_i[i] = ii / log_m;
            if_c[i] = if_i[i] - (uniform ? 0 : jx - Cbar);
        }
        se_rowstore_release(rs, c0, c1, m);
    }
}

/* The bootstrap, linearised: replicate b gives each group a Poisson(1)
 * weight and each measure its first-order change, sum_i (w_i - 1) IF_i / N,
 * which costs O(rows) a replicate and label set instead of the rows x m
 * additions and values x m logarithms of recomputing the sums.  The
 * intervals re-centre the replicates on the estimate, so the second-order
 * terms a recomputation would add (mostly the extra bias of duplicated
 * rows) would be removed anyway. */
static int bootstrap(softent_acc *acc, double *hx, double *influences)
{
    const int B = acc->p.bootstrap;
    const int64_t n = acc->rows_end, m = acc->m;
    double *if_h = influences, *if_i = influences + n, *if_c = influences + 2 * n;
    double *q = malloc((size_t)(2 * m) * sizeof *q), *lq = q + m;
    if (!q) return se_fail(SOFTENT_E_NOMEM, "out of memory for the bootstrap");
    /* H(Z) over every usable row: the influence a_i against the full total */
    {
        const double log_m = log((double)m), N = (double)(acc->rows - acc->skipped), H = se_entropy(acc->total, m);
        pool_logs(acc->total, m, q, lq);
        for (int64_t c0 = 0; c0 < n; c0 += SE_ROWSTORE_CHUNK) {
            const int64_t c1 = se_chunk_end(c0, n);
            #pragma omp parallel for schedule(static)
            for (int64_t i = c0; i < c1; i++)
                if_h[i] = acc->rowstore.ok[i] ? row_a(acc->rowstore.p + i * m, q, lq, m) / log_m : 0;
            se_rowstore_release(&acc->rowstore, c0, c1, m);
        }
        #pragma omp parallel for schedule(dynamic, 4)
        for (int b = 0; b < B; b++) {
            const double *x[1] = {if_h};
            double d;
            weighted_changes(acc, b, x, 1, n, &d);
            acc->boot_H[b] = H + d / N;
        }
    }
    for (int k = 0; k < acc->n_sets; k++) {
        se_labelset *s = &acc->sets[k];
        double J[SE_CURVE_LEVELS + 1];
        int top = se_curve_fit(&s->real.curve, J);
        influence(acc, s, J, top, hx, q, lq, if_h, if_i, if_c);
        double H0, mi0, curve0;
        se_point_measures(acc, s, &H0, &mi0, &curve0);
        const double N = (double)s->real.kept_rows;
        /* replicates in parallel, each one thread's sum in row order */
        #pragma omp parallel for schedule(dynamic, 4)
        for (int b = 0; b < B; b++) {
            const double *x[3] = {if_h, if_i, if_c};
            double d[3], *v = s->rep.boot + (int64_t)b * SE_BOOT_NV;
            weighted_changes(acc, b, x, 3, n, d);
            v[SE_BOOT_H] = H0 + d[0] / N;
            v[SE_BOOT_MI] = mi0 + d[1] / N;
            v[SE_BOOT_MI_CURVE] = curve0 + d[2] / N;
        }
    }
    free(q);
    return SOFTENT_OK;
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
    double *influences = B ? malloc((size_t)n * 3 * sizeof *influences + 1) : NULL; /* [3, n] */
    double *hbuf = malloc((size_t)max_stored * sizeof *hbuf + 1);
    if (!hbuf && !rc) rc = se_fail(SOFTENT_E_NOMEM, "out of memory for the replicates");
    if (!rc && ((R && !src) || (B && !influences))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory for the replicates");
    for (int k = 0; k < acc->n_sets && !rc; k++) {
        se_replicates *rep = &acc->sets[k].rep;
        free(rep->null_mi), free(rep->boot);  /* an earlier finish's, before more rows came */
        rep->null_mi = NULL, rep->boot = NULL;
        if (R && !(rep->null_mi = calloc((size_t)R, sizeof *rep->null_mi))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
        if (B && !(rep->boot = calloc((size_t)B * SE_BOOT_NV, sizeof *rep->boot))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
    }
    free(acc->boot_H);
    acc->boot_H = NULL;
    if (!rc && B && !(acc->boot_H = calloc((size_t)B, sizeof *acc->boot_H))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
    for (int r = 0; r < R && !rc; r++) {
        se_permutation perm;
        se_permutation_init(&perm, (uint64_t)acc->null_units.n, acc->p.null_seed, (uint64_t)r);
        #pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) src[i] = se_null_source(&acc->null_units, &perm, i);
        for (int k = 0; k < acc->n_sets; k++) {
            se_labelset *s = &acc->sets[k];
            fill(&buf, acc, s, src, n);
            s->rep.null_mi[r] = replicate_mi(acc, s, &buf, hbuf);
        }
    }
    if (!rc && B) rc = bootstrap(acc, hbuf, influences);
    se_sums_free(&buf);
    free(hbuf);
    free(src);
    free(influences);
    if (!rc) acc->resampled = 1;
    return rc;
}
