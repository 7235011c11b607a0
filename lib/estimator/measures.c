/* measures.c - entropies and mutual information from accumulated sums. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "accumulator.h"
#include "common/error.h"
#include "common/fastmath.h"

/* In straight-line arithmetic the compiler vectorises (se_log_pos, and the
 * sum as a SIMD reduction): the null and the bootstrap take one of these
 * per value a replicate, the bias curve one per value at every power of
 * two of its count. */
SE_HOT double se_entropy(const double *c, int64_t m)
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

double se_slot_entropy(const softent_acc *acc, const se_sums *sums, int64_t slot)
{
    if (acc->streaming && sums->last_h && sums->seen[slot] == 1) return sums->last_h[slot];
    return se_entropy(sums->sums + slot * acc->m, acc->m);
}

int softent_acc_summary(const softent_acc *acc, softent_summary *out)
{
    int rc = se_acc_check_finished(acc);
    if (rc) return rc;
    out->m = acc->m;
    out->d = acc->d;
    out->eps = acc->p.eps;
    out->rows = acc->rows;
    out->skipped = acc->skipped;
    out->H = se_entropy(acc->total, acc->m);
    out->n_labelsets = acc->n_sets;
    out->bootstrap = acc->boot_H ? acc->p.bootstrap : 0;
    se_interval(acc->boot_H, out->bootstrap, out->H, acc->p.level, 0, &out->H_lo, &out->H_hi);
    return SOFTENT_OK;
}

void softent_acc_rows(const softent_acc *acc, int64_t *first, int64_t *end, int64_t *labelled)
{
    if (first) *first = acc->rows_first;
    if (end) *end = acc->rows_first < 0 ? -1 : acc->rows_end;
    if (labelled) *labelled = acc->n_sets > 0 ? acc->sets[0].lab->n_rows : -1;
}

int softent_acc_params(const softent_acc *acc, softent_params *out)
{
    *out = acc->p;
    return SOFTENT_OK;
}

const float *softent_acc_refpoints(const softent_acc *acc) { return acc->w; }

const char *softent_correction_name(softent_correction c)
{
    switch (c) {
    case SOFTENT_CORRECT_CURVE: return "curve";
    case SOFTENT_CORRECT_NULL: return "null";
    case SOFTENT_CORRECT_NONE: return "none";
    case SOFTENT_CORRECT_TAYLOR: return "taylor";
    }
    return "unknown";
}

int softent_correction_parse(const char *s, softent_correction *c)
{
    for (int k = 0; k <= SOFTENT_CORRECT_TAYLOR; k++)
        if (strcmp(s, softent_correction_name((softent_correction)k)) == 0) {
            *c = (softent_correction)k;
            return SOFTENT_OK;
        }
    return se_fail(SOFTENT_E_INVALID, "unknown correction '%s': use curve, taylor, null or none", s);
}

/* H(Z), H(Z|X) and I of one label assignment. */
static void information(const softent_acc *acc, const se_labelset *s, const se_sums *sums,
                        double *H, double *H_cond)
{
    const int64_t m = acc->m;
    double weighted = 0;  /* sum of w-numerators times H(Z|X=x) */
    double weight = 0;    /* their denominator */
    int uniform = acc->p.weighting == SOFTENT_WEIGHT_UNIFORM;
    for (int64_t slot = 0; slot < s->lab->n_stored; slot++) {
        int64_t seen = sums->seen[slot];
        if (seen == 0) continue;
        double h = se_slot_entropy(acc, sums, slot);
        weighted += uniform ? h : (double)seen * h;
        weight += uniform ? 1.0 : (double)seen;
    }
    weighted += sums->single_h;
    weight += (double)sums->single_seen;
    *H = se_entropy(s->lab->n_dropped > 0 ? sums->kept_total : acc->total, m);
    *H_cond = weight > 0 ? weighted / weight : NAN;
}

/* The curve correction of the real labels: H(Z|X=x) + J(n_x) per value, and
 * H(Z) + its leading-order bias.  NaN when no value reached two rows. */
static void curve_information(const softent_acc *acc, const se_labelset *s, softent_labelset_measures *out)
{
    const int64_t m = acc->m;
    const se_sums *sums = &s->real;
    double J[SE_CURVE_LEVELS + 1];
    int top = se_curve_fit(&sums->curve, J);
    out->curve_levels = top;
    out->H_curve = out->H_cond_curve = out->mi_curve = NAN;
    if (top < 0 || !(sums->kept_rows > 0)) return;
    const int uniform = acc->p.weighting == SOFTENT_WEIGHT_UNIFORM;
    double weighted = 0, weight = 0;
    for (int64_t slot = 0; slot < s->lab->n_stored; slot++) {
        int64_t seen = sums->seen[slot];
        if (seen == 0) continue;
        double h = se_slot_entropy(acc, sums, slot) + se_curve_bias(J, top, seen);
        weighted += uniform ? h : (double)seen * h;
        weight += uniform ? 1.0 : (double)seen;
    }
    weighted += sums->single_h + (double)sums->single_seen * J[0];
    weight += (double)sums->single_seen;
    const int dropping = s->lab->n_dropped > 0;
    const double *total = dropping ? sums->kept_total : acc->total, *sq = dropping ? sums->kept_sq : acc->total_sq;
    int64_t n = dropping ? sums->kept_rows : acc->rows - acc->skipped;
    out->H_curve = se_entropy(total, m) + se_taylor_bias(total, sq, n, m);
    out->H_cond_curve = weight > 0 ? weighted / weight : NAN;
    out->mi_curve = out->H_curve - out->H_cond_curve;
}

void se_point_measures(const softent_acc *acc, const se_labelset *s, double *H, double *mi, double *mi_curve)
{
    softent_labelset_measures m;
    memset(&m, 0, sizeof m);
    double H_cond;
    information(acc, s, &s->real, H, &H_cond);
    *mi = *H - H_cond;
    curve_information(acc, s, &m);
    *mi_curve = m.mi_curve;
}

/* Miller-Madow for soft counts: each value's H(Z|X=x) raised by its own
 * leading-order bias sum_j var_j / (2 n_x mean_j) (values under 5 rows, and
 * singletons, take the row-weighted mean over the others); H(Z) by its own.
 * NaN without a value of 5 rows or more. */
#define TAYLOR_MIN_ROWS 5
static double taylor_mi(const softent_acc *acc, const se_labelset *s)
{
    const se_sums *sums = &s->real;
    const int64_t m = acc->m;
    if (!sums->sq) return NAN;
    const double log_m = log((double)m);
    double *B = malloc((size_t)s->lab->n_stored * sizeof *B + 1);
    if (!B) return NAN;
    double pooled = 0, pooled_w = 0;
    for (int64_t slot = 0; slot < s->lab->n_stored; slot++) {
        const int64_t n = sums->seen[slot];
        B[slot] = NAN;
        if (n < TAYLOR_MIN_ROWS) continue;
        B[slot] = se_taylor_bias(sums->sums + slot * m, sums->sq + slot * m, n, m) * 2.0 * (double)n * log_m;
        pooled += (double)n * B[slot], pooled_w += (double)n;
    }
    double result = NAN;
    if (pooled_w > 0) {
        pooled /= pooled_w;
        const int uniform = acc->p.weighting == SOFTENT_WEIGHT_UNIFORM;
        double weighted = 0, weight = 0;
        for (int64_t slot = 0; slot < s->lab->n_stored; slot++) {
            const int64_t n = sums->seen[slot];
            if (n == 0) continue;
            const double b = n >= TAYLOR_MIN_ROWS ? B[slot] : pooled;
            const double h = se_slot_entropy(acc, sums, slot) + b / (2.0 * (double)n * log_m);
            weighted += uniform ? h : (double)n * h;
            weight += uniform ? 1.0 : (double)n;
        }
        weighted += sums->single_h + (double)sums->single_seen * pooled / (2.0 * log_m);
        weight += (double)sums->single_seen;
        const int dropping = s->lab->n_dropped > 0;
        const double *total = dropping ? sums->kept_total : acc->total, *sq = dropping ? sums->kept_sq : acc->total_sq;
        const int64_t rows = dropping ? sums->kept_rows : acc->rows - acc->skipped;
        if (weight > 0) result = se_entropy(total, m) + se_taylor_bias(total, sq, rows, m) - weighted / weight;
    }
    free(B);
    return result;
}

/* Values seen at least once with their label kept. */
static int64_t kept_values(const se_labelset *s)
{
    int64_t n = s->real.single_seen; /* each singleton seen is one value */
    for (int64_t v = 0; v < s->lab->table.n; v++) {
        const int32_t slot = s->lab->value_slot[v];
        if (slot >= 0 && s->real.seen[slot] > 0) n++;
    }
    return n;
}

static void null_information(const softent_acc *acc, const se_labelset *s, softent_labelset_measures *out);
static void scaled_null_information(const softent_acc *acc, const se_labelset *s, softent_labelset_measures *out);
static void intervals(const softent_acc *acc, int set, softent_labelset_measures *out);

int softent_acc_labelset(const softent_acc *acc, int set, softent_labelset_measures *out)
{
    if (set < 0 || set >= acc->n_sets) return se_fail(SOFTENT_E_INVALID, "no label set %d", set);
    int rc = se_acc_check_finished(acc);
    if (rc) return rc;
    const se_labelset *s = &acc->sets[set];
    memset(out, 0, sizeof *out);
    out->name = s->name;
    out->arity = s->lab->table.arity;
    out->n_values = s->lab->table.n;
    out->n_stored = s->lab->n_stored;
    out->correction = acc->p.correction;
    out->null_perms = acc->p.null_perms;
    out->H = out->H_cond = out->mi = out->regularity = NAN;
    out->mi_null_mean = out->mi_null_sd = out->mi_null_corrected = out->p_value = NAN;
    out->H_curve = out->H_cond_curve = out->mi_curve = out->mi_corrected = out->mi_taylor = NAN;
    out->curve_levels = -1;
    if (!acc->frozen) return SOFTENT_OK;
    out->n_kept_values = kept_values(s);
    out->rows = s->real.kept_rows;
    information(acc, s, &s->real, &out->H, &out->H_cond);
    out->mi = out->H - out->H_cond;
    out->regularity = out->H > 0 ? out->mi / out->H : NAN;
    curve_information(acc, s, out);
    null_information(acc, s, out);
    out->mi_taylor = taylor_mi(acc, s);
    out->mi_corrected = out->correction == SOFTENT_CORRECT_CURVE  ? out->mi_curve
                      : out->correction == SOFTENT_CORRECT_NULL   ? out->mi_null_corrected
                      : out->correction == SOFTENT_CORRECT_TAYLOR ? out->mi_taylor
                                                                  : out->mi;
    intervals(acc, set, out);
    return SOFTENT_OK;
}

/* The bootstrap intervals of H, I and the headline. */
static void intervals(const softent_acc *acc, int set, softent_labelset_measures *out)
{
    out->H_lo = out->H_hi = out->mi_lo = out->mi_hi = out->mi_corrected_lo = out->mi_corrected_hi = NAN;
    out->mi_corrected_fixed_sd = out->correction == SOFTENT_CORRECT_CURVE ? se_curve_sd(acc, &acc->sets[set])
                               : out->correction == SOFTENT_CORRECT_NULL && out->null_scaled ? acc->sets[set].scaled.mean_sd
                               : out->correction == SOFTENT_CORRECT_NULL ? out->mi_null_sd / sqrt((double)out->null_perms) : 0;
    const int B = acc->sets[set].rep.boot ? acc->p.bootstrap : 0;
    out->bootstrap = B;
    if (B == 0) return;
    double *v = malloc((size_t)B * sizeof *v);
    if (!v) return;
    const double level = acc->p.level;
    softent_acc_replicates(acc, set, SE_BOOT_H, v);
    se_interval(v, B, out->H, level, 0, &out->H_lo, &out->H_hi);
    softent_acc_replicates(acc, set, SE_BOOT_MI, v);
    se_interval(v, B, out->mi, level, 0, &out->mi_lo, &out->mi_hi);
    softent_acc_replicates(acc, set, 2, v);
    se_interval(v, B, out->mi_corrected, level, out->mi_corrected_fixed_sd, &out->mi_corrected_lo, &out->mi_corrected_hi);
    free(v);
}

int softent_acc_replicates(const softent_acc *acc, int set, int what, double *out)
{
    if (set < 0 || set >= acc->n_sets) return se_fail(SOFTENT_E_INVALID, "no label set %d", set);
    const se_labelset *s = &acc->sets[set];
    const int B = acc->p.bootstrap;
    if (!s->rep.boot) return se_fail(SOFTENT_E_ORDER, "label set '%s' has no bootstrap replicates (params.bootstrap, then softent_acc_finish)", s->name);
    if (what < 0 || what > 2) return se_fail(SOFTENT_E_INVALID, "replicate kind %d: use 0 (H), 1 (I) or 2 (corrected I)", what);
    /* the null and Taylor corrections shift each replicate by the full
     * sample's correction (the curve has its own replicates) */
    double shift = 0;
    if (what == 2 && acc->p.correction == SOFTENT_CORRECT_NULL) {
        /* null_information reads the plug-in I and the kept values (one
         * value: the null is I itself); left zero, the shift was 0 */
        softent_labelset_measures m;
        memset(&m, 0, sizeof m);
        double H, curve;
        se_point_measures(acc, s, &H, &m.mi, &curve);
        m.n_kept_values = kept_values(s);
        null_information(acc, s, &m);
        shift = -m.mi_null_mean;
    } else if (what == 2 && acc->p.correction == SOFTENT_CORRECT_TAYLOR) {
        double H, mi, curve;
        se_point_measures(acc, s, &H, &mi, &curve);
        shift = taylor_mi(acc, s) - mi;
    }
    for (int b = 0; b < B; b++) {
        const double *v = s->rep.boot + (int64_t)b * SE_BOOT_NV;
        out[b] = what == 0 ? v[SE_BOOT_H] : what == 1 ? v[SE_BOOT_MI]
               : acc->p.correction == SOFTENT_CORRECT_CURVE ? v[SE_BOOT_MI_CURVE]
               : acc->p.correction == SOFTENT_CORRECT_NONE ? v[SE_BOOT_MI] : v[SE_BOOT_MI] + shift;
    }
    return SOFTENT_OK;
}

int softent_acc_replicates_H(const softent_acc *acc, double *out)
{
    if (!acc->boot_H) return se_fail(SOFTENT_E_ORDER, "no bootstrap replicates (params.bootstrap, then softent_acc_finish)");
    memcpy(out, acc->boot_H, (size_t)acc->p.bootstrap * sizeof *out);
    return SOFTENT_OK;
}

void softent_interval(const double *v, int n, double est, double level, double extra_sd, double *lo, double *hi)
{
    se_interval(v, n, est, level, extra_sd, lo, hi);
}

/* The scaled null: the same fields, the p-value from the normal tail. */
static void scaled_null_information(const softent_acc *acc, const se_labelset *s, softent_labelset_measures *out)
{
    out->null_scaled = acc->reservoir.n;
    if (!s->scaled.done) return;
    if (out->n_kept_values <= 1 || !isfinite(s->scaled.mean)) {
        out->mi_null_mean = out->mi;  /* one value: as the exact null gives it */
        out->mi_null_sd = 0;
        out->mi_null_corrected = 0;
        out->p_value = 1;
        return;
    }
    out->mi_null_mean = s->scaled.mean;
    out->mi_null_sd = s->scaled.sd;
    out->mi_null_corrected = out->mi - out->mi_null_mean;
    out->p_value = out->mi_null_sd > 0 ? 0.5 * erfc((out->mi - out->mi_null_mean) / (out->mi_null_sd * sqrt(2.0))) : NAN;
}

/* The permutation null: its mean and sd, the corrected I and the p-value. */
static void null_information(const softent_acc *acc, const se_labelset *s, softent_labelset_measures *out)
{
    const int R = acc->p.null_perms;
    if (acc->p.null_reservoir > 0) {
        scaled_null_information(acc, s, out);
        return;
    }
    if (R == 0 || (!s->null && !s->rep.null_mi)) return;
    if (out->n_kept_values <= 1) {
        /* one value: every shuffle is the same labelling, so the null is
         * the plug-in I itself, exactly (the shuffled sums, added in
         * another order, would leave it a rounding away: a "corrected" I
         * of 1e-11 where there is no information at all) */
        out->mi_null_mean = out->mi;
        out->mi_null_sd = 0;
        out->mi_null_corrected = 0;
        out->p_value = 1;
        return;
    }
    double sum = 0, sumsq = 0;
    int as_large = 0;
    for (int r = 0; r < R; r++) {
        double mi;
        if (s->null) {
            double H, H_cond;
            information(acc, s, &s->null[r], &H, &H_cond);
            mi = H - H_cond;
        } else mi = s->rep.null_mi[r];
        sum += mi;
        sumsq += mi * mi;
        as_large += mi >= out->mi;
    }
    out->mi_null_mean = sum / R;
    out->mi_null_sd = R > 1 ? sqrt(fmax(0, (sumsq - sum * sum / R) / (R - 1))) : NAN;
    out->mi_null_corrected = out->mi - out->mi_null_mean;
    out->p_value = (1.0 + as_large) / (R + 1.0);
}

int softent_acc_value(const softent_acc *acc, int set, int64_t i, int64_t key[SOFTENT_MAX_ARITY],
                      int64_t *count, double *h)
{
    if (set < 0 || set >= acc->n_sets) return se_fail(SOFTENT_E_INVALID, "no label set %d", set);
    const se_labelset *s = &acc->sets[set];
    if (i < 0 || i >= s->lab->table.n) return se_fail(SOFTENT_E_INVALID, "label set '%s' has no value %lld", s->name, (long long)i);
    const int a = s->lab->table.arity;
    for (int k = 0; k < SOFTENT_MAX_ARITY; k++) key[k] = k < a ? s->lab->table.keys[i * a + k] : 0;
    *count = s->lab->table.count[i];
    *h = NAN;
    if (acc->frozen) {
        int32_t slot = s->lab->value_slot[i];
        if (slot >= 0 && s->real.seen[slot] > 0) *h = se_slot_entropy(acc, &s->real, slot);
        else if (slot == SLOT_SINGLE && s->value_h) *h = s->value_h[i];
    }
    return SOFTENT_OK;
}

double softent_optimality(double I_out, double I_in)
{
    return I_in > 0 ? I_out / I_in : NAN;
}
