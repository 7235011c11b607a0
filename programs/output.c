/* output.c - results as a table, JSON (cJSON) and tidy CSV. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* An entropy or information in the units asked for. */
static double in_units(const softent_acc *acc, const run_info *info, double x)
{
    softent_params p;
    softent_acc_params(acc, &p);
    return x * units_factor(info->units, p.m);
}

static int has_null(const softent_acc *acc)
{
    softent_params p;
    softent_acc_params(acc, &p);
    return p.null_perms > 0 || p.null_reservoir > 0;
}

static softent_correction correction_of(const softent_acc *acc)
{
    softent_params p;
    softent_acc_params(acc, &p);
    return p.correction;
}

static const char *weighting_name(softent_weighting w)
{
    return w == SOFTENT_WEIGHT_UNIFORM ? "uniform" : "prob";
}

/* Split an "OUT,IN" pair; returns 0 when it does not name two sets. */
static int pair_sets(const softent_acc *acc, const char *pair, int *out, int *in)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", pair);
    char *comma = strchr(buf, ',');
    if (!comma) return 0;
    *comma = '\0';
    *out = softent_acc_find_labelset(acc, buf);
    *in = softent_acc_find_labelset(acc, comma + 1);
    return *out >= 0 && *in >= 0;
}

int check_pairs(const softent_acc *acc, const run_info *info, const char *cmd)
{
    int out, in;
    for (int i = 0; i < info->n_pairs; i++)
        if (!pair_sets(acc, info->pairs[i], &out, &in))
            return cli_usage_error(cmd, "--optimality %s: give OUT,IN, two label set names", info->pairs[i]);
    return 0;
}

/* The measures of a pair's two sets; 0 when the pair names none. */
static int pair_measures(const softent_acc *acc, const char *pair, softent_labelset_measures *mo,
                         softent_labelset_measures *mi)
{
    int out, in;
    if (!pair_sets(acc, pair, &out, &in)) return 0;
    softent_acc_labelset(acc, out, mo);
    softent_acc_labelset(acc, in, mi);
    return 1;
}

static double pair_optimality(const softent_acc *acc, const char *pair)
{
    softent_labelset_measures mo, mi;
    return pair_measures(acc, pair, &mo, &mi) ? softent_optimality(mo.mi, mi.mi) : NAN;
}

/* I_c(out) / I_c(in) of the headline corrected I; NaN with no correction
 * or when I_c(in) <= 0 (the plug-in ratio's rule, applied to the headline). */
static double pair_optimality_corrected(const softent_acc *acc, const char *pair)
{
    softent_labelset_measures mo, mi;
    if (!pair_measures(acc, pair, &mo, &mi) || mo.correction == SOFTENT_CORRECT_NONE) return NAN;
    return softent_optimality(mo.mi_corrected, mi.mi_corrected);
}

static void format_key(char *buf, size_t size, const int64_t *key, int arity)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < arity && used < size; k++)
        used += (size_t)snprintf(buf + used, size - used, k ? " %lld" : "%lld", (long long)key[k]);
}

/* The first column's width: name, values, rows and H(Z) come before the
 * corrected block. */
#define LEAD_WIDTH 48

static void table_header(FILE *f, int corrected, int with_null, int boot, double level)
{
    if (corrected)
        fprintf(f, "\n%-*s %-*s | %s\n", LEAD_WIDTH, "", 11 + (with_null ? 20 : 0) + (boot ? 23 : 0), "corrected:", "plug-in (biased upward):");
    else
        fprintf(f, "\n");
    fprintf(f, "%-16s %9s %10s %10s", "label set", "values", "rows", "H(Z)");
    if (corrected) fprintf(f, " %11s", "I corrected");
    if (corrected && boot) {
        char head[32];
        snprintf(head, sizeof head, "%g%% interval", 100 * level);
        fprintf(f, " %22s", head);
    }
    if (with_null) fprintf(f, " %10s %8s", "null sd", "p");
    if (corrected) fprintf(f, " |");
    fprintf(f, " %10s %10s %10s", "I(X;Z)", "H(Z|X)", "regularity");
    if (with_null) fprintf(f, " %10s", "null mean");
    fprintf(f, "\n");
}

/* A value in the table's units (or as it is, raw), or "-" where undefined
 * (never "nan"). */
static void table_cell(FILE *f, const softent_acc *acc, const run_info *info, double v, int width, int raw)
{
    if (isfinite(v)) fprintf(f, " %*.6f", width, raw ? v : in_units(acc, info, v));
    else fprintf(f, " %*s", width, "-");
}

/* The row leads with the corrected I (its interval, the null's sd and p);
 * the plug-in I, H(Z|X) and regularity follow it, after the bar. */
static void table_row(FILE *f, const softent_acc *acc, const run_info *info, int k, int corrected, int with_null)
{
    softent_labelset_measures m;
    softent_acc_labelset(acc, k, &m);
    fprintf(f, "%-16s %9lld %10lld", m.name, (long long)m.n_kept_values, (long long)m.rows);
    table_cell(f, acc, info, m.H, 10, 0);
    if (corrected) table_cell(f, acc, info, m.mi_corrected, 11, 0);
    if (corrected && m.bootstrap > 0) {
        if (isfinite(m.mi_corrected_lo) && isfinite(m.mi_corrected_hi))
            fprintf(f, " [%9.6f, %9.6f]", in_units(acc, info, m.mi_corrected_lo), in_units(acc, info, m.mi_corrected_hi));
        else fprintf(f, " %22s", "-");
    }
    if (with_null) {
        table_cell(f, acc, info, m.mi_null_sd, 10, 0);
        /* the scaled null's p is a normal tail: below 1e-4 it is a z-score, not a frequency */
        if (m.null_scaled && m.p_value < 1e-4) fprintf(f, " %8s", "<1e-4");
        else table_cell(f, acc, info, m.p_value, 8, 1);
    }
    if (corrected) fprintf(f, " |");
    table_cell(f, acc, info, m.mi, 10, 0);
    table_cell(f, acc, info, m.H_cond, 10, 0);
    table_cell(f, acc, info, m.regularity, 10, 1);
    if (with_null) table_cell(f, acc, info, m.mi_null_mean, 10, 0);
    fprintf(f, "\n");
}

/* A ratio, or why it has none: the table never prints "nan".  Returns
 * whether it was defined. */
static int print_ratio(FILE *f, double v, const char *in_name, const char *what)
{
    if (isfinite(v)) fprintf(f, "%.6f", v);
    else fprintf(f, "undefined (%sI(%s) <= 0)", what, in_name);
    return isfinite(v);
}

/* The corrected ratio leads; the plug-in follows, labelled. */
static void table_optimality(FILE *f, const softent_acc *acc, const run_info *info, int corrected)
{
    for (int i = 0; i < info->n_pairs; i++) {
        char out[256];
        snprintf(out, sizeof out, "%s", info->pairs[i]);
        char *in = strchr(out, ',');
        *in++ = '\0';
        fprintf(f, "optimality I(%s)/I(%s) = ", out, in);
        if (corrected) {
            if (print_ratio(f, pair_optimality_corrected(acc, info->pairs[i]), in, "corrected ")) fprintf(f, " (corrected)");
            fprintf(f, "; plug-in ");
        }
        print_ratio(f, pair_optimality(acc, info->pairs[i]), in, "");
        fprintf(f, "\n");
        softent_labelset_measures mo, mi;
        if (pair_measures(acc, info->pairs[i], &mo, &mi) && mo.rows != mi.rows)
            fprintf(f, "  (different rows: I(%s) over %lld rows, I(%s) over %lld; estimate's label sets drop values\n"
                   "   independently, so the ratio compares two samples: see docs/estimator.md, min-count)\n",
                   out, (long long)mo.rows, in, (long long)mi.rows);
    }
}

FILE *table_stream(const char *json, const char *csv)
{
    return (json && !strcmp(json, "-")) || (csv && !strcmp(csv, "-")) ? stderr : stdout;
}

int write_table(const softent_acc *acc, const run_info *info, FILE *f)
{
    softent_summary s;
    softent_params p;
    softent_acc_summary(acc, &s);
    softent_acc_params(acc, &p);
    fprintf(f, "softent %s: %s: %lld rows x %lld dims, %lld skipped (zero or non-finite norm)\n",
           SOFTENT_VERSION, info->input, (long long)s.rows, (long long)s.d, (long long)s.skipped);
    fprintf(f, "m = %lld reference points (%s), eps = %.10f (%s), weighting %s, min-count %lld%s\n",
           (long long)s.m, info->refpoints ? info->refpoints : "gaussian", s.eps,
           softent_calibration_name(p.calibration), weighting_name(p.weighting), (long long)p.min_count,
           p.product == SOFTENT_PRODUCT_BF16 ? ", bf16 products" : "");
    if (info->units == UNITS_EFFICIENCY)
        fprintf(f, "entropies are efficiencies: fractions of log m = %.4f nats\n\n", log((double)s.m));
    else
        fprintf(f, "entropies in %s\n\n", units_name(info->units));
    fprintf(f, "H(Z) = %.6f\n", in_units(acc, info, s.H));
    if (s.n_labelsets == 0) return 0;
    const int with_null = has_null(acc), corrected = p.correction != SOFTENT_CORRECT_NONE;
    table_header(f, corrected, with_null, p.bootstrap > 0, p.level);
    int undefined = 0;
    for (int k = 0; k < s.n_labelsets; k++) {
        table_row(f, acc, info, k, corrected, with_null);
        softent_labelset_measures m;
        softent_acc_labelset(acc, k, &m);
        undefined += corrected && !isfinite(m.mi_corrected);
    }
    fprintf(f, "\n");
    for (int k = 0; k < s.n_labelsets; k++) {
        softent_labelset_measures m;
        softent_acc_labelset(acc, k, &m);
        if (m.rows == 0)
            fprintf(f, "%s: not enough data: no rows left (min-count %lld drops every value, or every row was skipped)\n",
                   m.name, (long long)p.min_count);
    }
    if (p.correction == SOFTENT_CORRECT_CURVE)
        fprintf(f, "corrected: each value's H(Z|X=x) raised by its bias curve J(n_x), read from the values' own running\n"
               "means, and H(Z) by its leading-order bias (docs/statistics.md); read it first.\n");
    else if (p.correction == SOFTENT_CORRECT_TAYLOR)
        fprintf(f, "corrected: each value's H(Z|X=x) raised by its own leading-order bias sum_j var_j / (2 n mean_j)\n"
               "(Miller-Madow for soft counts; values under 5 rows take the pooled one); read it first.\n");
    else if (p.correction == SOFTENT_CORRECT_NULL)
        fprintf(f, p.null_reservoir ? "corrected: I(X;Z) minus the scaled null's mean I under a label permutation; read it first.\n"
                                    : "corrected: I(X;Z) minus the mean I of %d label permutations (the null); read it first.\n", p.null_perms);
    if (corrected) fprintf(f, "The plug-in I(X;Z) is biased upward, most for label sets with many rare values.\n");
    else fprintf(f, "plug-in values only (--correction none): biased upward, most for label sets with many rare values.\n");
    if (undefined) fprintf(f, "-: not enough data for the correction (no label value seen twice)\n");
    softent_labelset_measures m0;
    if (with_null && p.null_reservoir && !softent_acc_labelset(acc, 0, &m0))
        fprintf(f, "null: scaled (no permutations): the mean and sd of I under a label permutation from a sample of %lld\n"
                   "of the %lld rows (docs/statistics.md, seed %llu); p from the normal tail of (I - mean) / sd\n",
                (long long)m0.null_scaled, (long long)(s.rows - s.skipped), (unsigned long long)p.null_seed);
    else if (with_null)
        fprintf(f, "null: %d label permutations (seed %llu); p = (1 + #{I_null >= I}) / (R + 1)\n",
               p.null_perms, (unsigned long long)p.null_seed);
    if (p.bootstrap > 0)
        fprintf(f, "interval: %g%% Poisson bootstrap over %s, %d replicates (seed %llu), re-centred percentiles\n",
               100 * p.level, info->grouped ? "groups" : "rows", p.bootstrap, (unsigned long long)p.bootstrap_seed);
    table_optimality(f, acc, info, corrected);
    return 0;
}

static cJSON *settings_json(const softent_acc *acc, const run_info *info)
{
    softent_params p;
    softent_summary s;
    softent_acc_params(acc, &p);
    softent_acc_summary(acc, &s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "m", (double)p.m);
    cJSON_AddNumberToObject(o, "d", (double)s.d);
    cJSON_AddNumberToObject(o, "seed", (double)p.seed);
    cJSON_AddStringToObject(o, "refpoints", info->refpoints ? info->refpoints : "gaussian (numpy default_rng standard_normal, normalised)");
    cJSON_AddStringToObject(o, "calibration", softent_calibration_name(p.calibration));
    cJSON_AddNumberToObject(o, "eps", p.eps);
    cJSON_AddStringToObject(o, "weighting", weighting_name(p.weighting));
    cJSON_AddStringToObject(o, "product", softent_product_name(p.product));
    cJSON_AddNumberToObject(o, "min_count", (double)p.min_count);
    cJSON_AddNumberToObject(o, "null_perms", p.null_perms);
    cJSON_AddNumberToObject(o, "null_reservoir", (double)p.null_reservoir);
    cJSON_AddNumberToObject(o, "null_seed", (double)p.null_seed);
    cJSON_AddStringToObject(o, "correction", softent_correction_name(p.correction));
    cJSON_AddStringToObject(o, "units", units_name(info->units));
    cJSON_AddStringToObject(o, "layer_mean", "not applicable");
    return o;
}

static cJSON *labelset_json(const softent_acc *acc, int k, const run_info *info)
{
    softent_labelset_measures m;
    softent_acc_labelset(acc, k, &m);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", m.name);
    if (info->label_paths && info->label_paths[k]) cJSON_AddStringToObject(o, "path", info->label_paths[k]);
    cJSON_AddNumberToObject(o, "arity", m.arity);
    cJSON_AddNumberToObject(o, "n_values", (double)m.n_values);
    cJSON_AddNumberToObject(o, "n_kept_values", (double)m.n_kept_values);
    cJSON_AddNumberToObject(o, "n_stored", (double)m.n_stored);
    cJSON_AddNumberToObject(o, "rows", (double)m.rows);
    cJSON_AddNumberToObject(o, "H", in_units(acc, info, m.H));
    cJSON_AddNumberToObject(o, "H_cond", in_units(acc, info, m.H_cond));
    cJSON_AddNumberToObject(o, "I", in_units(acc, info, m.mi));
    cJSON_AddNumberToObject(o, "regularity", m.regularity);
    cJSON_AddStringToObject(o, "correction", softent_correction_name(m.correction));
    cli_json_number(o, "I_corrected", in_units(acc, info, m.mi_corrected));
    if (m.bootstrap > 0) {
        cJSON *iv = cJSON_AddObjectToObject(o, "interval");
        softent_params p;
        softent_acc_params(acc, &p);
        cJSON_AddNumberToObject(iv, "level", p.level);
        cJSON_AddNumberToObject(iv, "replicates", m.bootstrap);
        const struct { const char *name; double lo, hi; } iv_rows[] = {
            {"H", m.H_lo, m.H_hi}, {"I", m.mi_lo, m.mi_hi}, {"I_corrected", m.mi_corrected_lo, m.mi_corrected_hi}};
        for (int i = 0; i < 3; i++) {
            cJSON *pair = cJSON_AddArrayToObject(iv, iv_rows[i].name);
            cJSON_AddItemToArray(pair, isfinite(iv_rows[i].lo) ? cJSON_CreateNumber(in_units(acc, info, iv_rows[i].lo)) : cJSON_CreateNull());
            cJSON_AddItemToArray(pair, isfinite(iv_rows[i].hi) ? cJSON_CreateNumber(in_units(acc, info, iv_rows[i].hi)) : cJSON_CreateNull());
        }
    }
    cJSON *c = cJSON_AddObjectToObject(o, "curve");
    cli_json_number(c, "I", in_units(acc, info, m.mi_curve));
    cli_json_number(c, "H", in_units(acc, info, m.H_curve));
    cli_json_number(c, "H_cond", in_units(acc, info, m.H_cond_curve));
    cJSON_AddNumberToObject(c, "levels", m.curve_levels);
    if (m.correction == SOFTENT_CORRECT_TAYLOR) cli_json_number(o, "I_taylor", in_units(acc, info, m.mi_taylor));
    if (m.null_perms > 0 || m.null_scaled > 0) {
        cJSON *n = cJSON_AddObjectToObject(o, "null");
        cJSON_AddNumberToObject(n, "perms", m.null_perms);
        cJSON_AddStringToObject(n, "method", m.null_scaled ? "scaled" : "permutations");
        if (m.null_scaled) cJSON_AddNumberToObject(n, "reservoir_rows", (double)m.null_scaled);
        cJSON_AddNumberToObject(n, "I_null_mean", in_units(acc, info, m.mi_null_mean));
        cJSON_AddNumberToObject(n, "I_null_sd", in_units(acc, info, m.mi_null_sd));
        cJSON_AddNumberToObject(n, "I_corrected", in_units(acc, info, m.mi_null_corrected));
        cJSON_AddNumberToObject(n, "p_value", m.p_value);
    }
    if (info->per_value) {
        cJSON *values = cJSON_AddArrayToObject(o, "values");
        for (int64_t i = 0; i < m.n_values; i++) {
            int64_t key[SOFTENT_MAX_ARITY], count;
            double h;
            softent_acc_value(acc, k, i, key, &count, &h);
            cJSON *v = cJSON_CreateObject();
            cJSON *ka = cJSON_AddArrayToObject(v, "key");
            for (int a = 0; a < m.arity; a++) cJSON_AddItemToArray(ka, cJSON_CreateNumber((double)key[a]));
            cJSON_AddNumberToObject(v, "count", (double)count);
            cJSON_AddNumberToObject(v, "H_cond", in_units(acc, info, h));
            cJSON_AddItemToArray(values, v);
        }
    }
    return o;
}

/* NaN as JSON null, spelled out rather than left to cJSON's printer. */
int write_json(const softent_acc *acc, const run_info *info, const char *path)
{
    softent_summary s;
    softent_acc_summary(acc, &s);
    const int corrected = correction_of(acc) != SOFTENT_CORRECT_NONE;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "softent_version", SOFTENT_VERSION);
    cJSON *in = cJSON_AddObjectToObject(root, "input");
    cJSON_AddStringToObject(in, "path", info->input);
    if (info->tensor) cJSON_AddStringToObject(in, "tensor", info->tensor);
    if (info->shard) cJSON_AddStringToObject(in, "shard", info->shard);
    cJSON_AddItemToObject(root, "settings", settings_json(acc, info));
    cJSON_AddNumberToObject(root, "rows", (double)s.rows);
    cJSON_AddNumberToObject(root, "skipped", (double)s.skipped);
    cJSON_AddNumberToObject(root, "H", in_units(acc, info, s.H));
    cJSON *sets = cJSON_AddArrayToObject(root, "label_sets");
    for (int k = 0; k < s.n_labelsets; k++) cJSON_AddItemToArray(sets, labelset_json(acc, k, info));
    cJSON *opt = cJSON_AddArrayToObject(root, "optimality");
    for (int i = 0; i < info->n_pairs; i++) {
        cJSON *o = cJSON_CreateObject();
        char out[256];
        snprintf(out, sizeof out, "%s", info->pairs[i]);
        *strchr(out, ',') = '\0';
        cJSON_AddStringToObject(o, "out", out);
        cJSON_AddStringToObject(o, "in", strchr(info->pairs[i], ',') + 1);
        cJSON_AddNumberToObject(o, "value", pair_optimality(acc, info->pairs[i]));
        if (corrected) cli_json_number(o, "value_corrected", pair_optimality_corrected(acc, info->pairs[i]));
        /* estimate's sets drop values independently: say when the two I
         * are over different rows */
        softent_labelset_measures mo, mi;
        if (pair_measures(acc, info->pairs[i], &mo, &mi)) {
            cJSON_AddNumberToObject(o, "rows_out", (double)mo.rows);
            cJSON_AddNumberToObject(o, "rows_in", (double)mi.rows);
            cJSON_AddBoolToObject(o, "same_rows", mo.rows == mi.rows);
        }
        cJSON_AddItemToArray(opt, o);
    }
    return cli_write_json(path, root);
}

/* A CSV value and the line's end; an undefined value (an optimality whose
 * I(in) <= 0, the H of a value kept no vector for) is left empty, which
 * readers take as missing, never "nan". */
static void put_csv_number(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.17g", v);
    fputc('\n', f);
}

int write_csv(const softent_acc *acc, const run_info *info, const char *path)
{
    cli_file cf;
    if (cli_file_open(&cf, path)) return 1;
    FILE *f = cf.f;
    softent_summary s;
    softent_acc_summary(acc, &s);
    const int corrected = correction_of(acc) != SOFTENT_CORRECT_NONE;
    fprintf(f, "label_set,key,measure,value\n");
    fprintf(f, ",,H,%.17g\n,,rows,%lld\n,,skipped,%lld\n,,eps,%.17g\n", in_units(acc, info, s.H), (long long)s.rows, (long long)s.skipped, s.eps);
    for (int k = 0; k < s.n_labelsets; k++) {
        softent_labelset_measures m;
        softent_acc_labelset(acc, k, &m);
        const struct { const char *name; double v; } rows[] = {
            {"n_values", (double)m.n_values}, {"rows", (double)m.rows}, {"H", in_units(acc, info, m.H)},
            {"H_cond", in_units(acc, info, m.H_cond)}, {"I", in_units(acc, info, m.mi)}, {"regularity", m.regularity},
            {"I_corrected", in_units(acc, info, m.mi_corrected)}, {"I_curve", in_units(acc, info, m.mi_curve)},
            {"I_null_mean", in_units(acc, info, m.mi_null_mean)}, {"I_null_sd", in_units(acc, info, m.mi_null_sd)},
            {"I_null_corrected", in_units(acc, info, m.mi_null_corrected)}, {"p_value", m.p_value},
        };
        int n_rows = m.null_perms > 0 || m.null_scaled > 0 ? 12 : 8;
        for (int i = 0; i < n_rows; i++) {
            fprintf(f, "%s,,%s,", m.name, rows[i].name);
            put_csv_number(f, rows[i].v);
        }
        const struct { const char *name; double v; } ci[] = {
            {"H_lo", m.H_lo}, {"H_hi", m.H_hi}, {"I_lo", m.mi_lo}, {"I_hi", m.mi_hi},
            {"I_corrected_lo", m.mi_corrected_lo}, {"I_corrected_hi", m.mi_corrected_hi}};
        for (int i = 0; m.bootstrap > 0 && i < 6; i++) {
            fprintf(f, "%s,,%s,", m.name, ci[i].name);
            put_csv_number(f, in_units(acc, info, ci[i].v));
        }
        for (int64_t i = 0; info->per_value && i < m.n_values; i++) {
            int64_t key[SOFTENT_MAX_ARITY], count;
            double h;
            char kb[128];
            softent_acc_value(acc, k, i, key, &count, &h);
            format_key(kb, sizeof kb, key, m.arity);
            fprintf(f, "%s,%s,count,%lld\n%s,%s,H_cond,", m.name, kb, (long long)count, m.name, kb);
            put_csv_number(f, in_units(acc, info, h));
        }
    }
    for (int i = 0; i < info->n_pairs; i++) {
        fprintf(f, "\"%s\",,optimality,", info->pairs[i]);
        put_csv_number(f, pair_optimality(acc, info->pairs[i]));
        if (!corrected) continue;
        fprintf(f, "\"%s\",,optimality_corrected,", info->pairs[i]);
        put_csv_number(f, pair_optimality_corrected(acc, info->pairs[i]));
    }
    return cli_file_commit(&cf, 1);
}
