/*
 * analysis_output.c - an analysis' results as JSON objects, tidy CSV rows
 * and figure data, shared by analyze and trace (see analysis.h).  The
 * numbers come from the library as data; only their formatting is here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "cli.h"
#include "figures.h"

/* ---- units ------------------------------------------------------------------ */

static void scale_measures(softent_labelset_measures *m, double f)
{
    double *v[] = {&m->H, &m->H_cond, &m->mi, &m->mi_corrected, &m->H_curve, &m->H_cond_curve, &m->mi_curve, &m->mi_taylor,
                   &m->mi_null_mean, &m->mi_null_sd, &m->mi_null_corrected, &m->H_lo, &m->H_hi, &m->mi_lo, &m->mi_hi,
                   &m->mi_corrected_lo, &m->mi_corrected_hi, &m->mi_corrected_fixed_sd};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) *v[i] *= f;
}

static void scale(double *v, int64_t n, double f)
{
    for (int64_t i = 0; i < n; i++) v[i] *= f;
}

void analysis_to_units(softent_analysis_result *r, const analysis_options *o)
{
    const double f = units_factor(o->units, o->a.params.m);
    if (f == 1.0) return;
    for (int s = 0; s < r->n_layers; s++) {
        softent_analysis_layer *l = &r->layers[s];
        l->H *= f, l->H_lo *= f, l->H_hi *= f;
        for (int k = 0; k < r->n_orders; k++) scale_measures(&l->in[k], f), scale_measures(&l->out[k], f);
        for (int u = 0; u < r->n_labels; u++) scale_measures(&l->labels[u], f);
    }
    r->mean_H *= f;
    double *per_order[] = {r->mean_in, r->mean_out, r->mean_in_corrected, r->mean_out_corrected, r->mean_in_null_sd,
                           r->mean_out_null_sd, r->mean_in_corrected_lo, r->mean_in_corrected_hi, r->mean_out_corrected_lo,
                           r->mean_out_corrected_hi, r->mean_in_fixed_sd, r->mean_out_fixed_sd};
    for (size_t i = 0; i < sizeof per_order / sizeof *per_order; i++) scale(per_order[i], r->n_orders, f);
    double *per_label[] = {r->mean_label, r->mean_label_corrected, r->mean_label_corrected_lo, r->mean_label_corrected_hi};
    for (size_t i = 0; i < sizeof per_label / sizeof *per_label; i++) scale(per_label[i], r->n_labels, f);
    if (r->replicates) scale(r->replicates, (int64_t)2 * r->n_orders * r->bootstrap, f);
    if (r->layer_replicates) scale(r->layer_replicates, (int64_t)r->n_layers * r->n_orders * r->bootstrap, f);
}

void preference_to_units(softent_preference_result *p, const analysis_options *o)
{
    const double f = units_factor(o->units, o->a.params.m);
    for (int s = 0; s < p->n_layers; s++) scale_measures(&p->pref[s], f);
    p->mean *= f, p->mean_corrected *= f, p->mean_null_sd *= f, p->mean_corrected_lo *= f, p->mean_corrected_hi *= f;
}

const char *analysis_units_phrase(const analysis_options *o)
{
    return o->units == UNITS_NATS ? "in nats" : o->units == UNITS_BITS ? "in bits" : "fractions of log m";
}

/* JSON has no NaN: an undefined value (no null run, I(in) <= 0) is null. */
int analysis_has_null(const softent_analysis_result *r)
{
    return r->n_layers > 0 && r->n_orders > 0 && analysis_null_ran(&r->layers[0].in[0]);
}

const char *analysis_null_phrase(const softent_labelset_measures *m, char *buf, size_t size)
{
    if (m->null_scaled > 0) snprintf(buf, size, "the scaled null of %lld sampled rows", (long long)m->null_scaled);
    else snprintf(buf, size, "a %d-permutation null", m->null_perms);
    return buf;
}

int analysis_bars(const softent_analysis_result *r)
{
    return r->bootstrap > 0 ? FIG_BARS_INTERVAL : analysis_has_null(r) ? FIG_BARS_NULL : FIG_BARS_NONE;
}

int analysis_corrected(const softent_analysis_result *r)
{
    return r->n_layers > 0 && r->n_orders > 0 && r->layers[0].in[0].correction != SOFTENT_CORRECT_NONE;
}

double analysis_headline(const softent_labelset_measures *m)
{
    return m->correction != SOFTENT_CORRECT_NONE ? m->mi_corrected : m->mi;
}

const char *analysis_correction_label(softent_correction c)
{
    switch (c) {
    case SOFTENT_CORRECT_CURVE: return "corrected (curve: J(n) from the running means of each value)";
    case SOFTENT_CORRECT_NULL: return "corrected (I - null mean)";
    case SOFTENT_CORRECT_TAYLOR: return "corrected (taylor: Miller-Madow from each value's own variance)";
    case SOFTENT_CORRECT_NONE: break;
    }
    return "plug-in (--correction none: biased upward)";
}

const char *analysis_basis(const softent_analysis_result *r)
{
    return analysis_correction_label(r->n_layers > 0 && r->n_orders > 0 ? r->layers[0].in[0].correction : SOFTENT_CORRECT_NONE);
}

static void add_null(cJSON *o, const softent_labelset_measures *m)
{
    if (!analysis_null_ran(m)) return;
    cJSON *n = cJSON_AddObjectToObject(o, "null");
    cli_json_number(n, "I_null_mean", m->mi_null_mean);
    cli_json_number(n, "I_null_sd", m->mi_null_sd);
    cli_json_number(n, "I_corrected", m->mi_null_corrected);
    cli_json_number(n, "p_value", m->p_value);
    cJSON_AddNumberToObject(n, "permutations", m->null_perms);
    cJSON_AddStringToObject(n, "method", m->null_scaled ? "scaled" : "permutations");
    if (m->null_scaled) cJSON_AddNumberToObject(n, "reservoir_rows", (double)m->null_scaled);
}

/* The label set's own rows and H over them: with min-count they differ
 * from the layer's. */
void analysis_labelset_json(cJSON *o, const softent_labelset_measures *m)
{
    cJSON_AddNumberToObject(o, "rows", (double)m->rows);
    cli_json_number(o, "H", m->H);
    cli_json_number(o, "I", m->mi);
    cli_json_number(o, "I_corrected", m->correction != SOFTENT_CORRECT_NONE ? m->mi_corrected : NAN);
    cli_json_number(o, "I_curve", m->mi_curve);
    cli_json_number(o, "I_taylor", m->mi_taylor);
    cli_json_number(o, "H_curve", m->H_curve);
    if (m->bootstrap > 0) {
        cJSON *iv = cJSON_AddObjectToObject(o, "interval");
        cJSON_AddNumberToObject(iv, "replicates", m->bootstrap);
        cli_json_interval(iv, "H", m->H_lo, m->H_hi);
        cli_json_interval(iv, "I", m->mi_lo, m->mi_hi);
        cli_json_interval(iv, "I_corrected", m->mi_corrected_lo, m->mi_corrected_hi);
    }
    add_null(o, m);
}

/* Index of order n among r's orders, or -1. */
static int order_index(const softent_analysis_result *r, int n)
{
    for (int k = 0; k < r->n_orders; k++)
        if (r->orders[k] == n) return k;
    return -1;
}

/* What one more token of context adds: I(n) - I(n-1) of the headline
 * values, for every order whose predecessor was measured too.  in/out are
 * [n_orders] in r's order. */
static cJSON *context_width_json(const softent_analysis_result *r, const double *in, const double *out)
{
    cJSON *arr = cJSON_CreateArray();
    for (int k = 0; k < r->n_orders; k++) {
        int j = order_index(r, r->orders[k] - 1);
        if (j < 0) continue;
        cJSON *d = cJSON_CreateObject();
        cJSON_AddNumberToObject(d, "n", r->orders[k]);
        cli_json_number(d, "dI_in", in[k] - in[j]);
        cli_json_number(d, "dI_out", out[k] - out[j]);
        cJSON_AddItemToArray(arr, d);
    }
    return arr;
}

static cJSON *layer_json(const softent_analysis_result *r, const softent_analysis_layer *l)
{
    cJSON *lj = cJSON_CreateObject();
    cJSON_AddNumberToObject(lj, "layer", l->layer);
    cli_json_number(lj, "H", l->H);
    if (r->bootstrap > 0) cli_json_interval(lj, "H_interval", l->H_lo, l->H_hi);
    cJSON_AddNumberToObject(lj, "rows", (double)l->rows);
    cJSON *orders = cJSON_AddArrayToObject(lj, "orders");
    double hin[SOFTENT_MAX_ARITY], hout[SOFTENT_MAX_ARITY];
    for (int k = 0; k < r->n_orders; k++) {
        cJSON *ok = cJSON_CreateObject();
        cJSON_AddNumberToObject(ok, "n", r->orders[k]);
        cli_json_number(ok, "I_in", l->in[k].mi);
        cli_json_number(ok, "I_out", l->out[k].mi);
        cli_json_number(ok, "optimality", l->optimality[k]);
        cli_json_number(ok, "optimality_corrected", l->optimality_corrected[k]);
        if (r->bootstrap > 0) cli_json_interval(ok, "optimality_corrected_interval", l->opt_corrected_lo[k], l->opt_corrected_hi[k]);
        cli_json_number(ok, "H_cond_in", l->in[k].H_cond);
        cli_json_number(ok, "H_cond_out", l->out[k].H_cond);
        cJSON_AddNumberToObject(ok, "values_in", (double)l->in[k].n_values);
        cJSON_AddNumberToObject(ok, "values_out", (double)l->out[k].n_values);
        analysis_labelset_json(cJSON_AddObjectToObject(ok, "in"), &l->in[k]);
        analysis_labelset_json(cJSON_AddObjectToObject(ok, "out"), &l->out[k]);
        cJSON_AddItemToArray(orders, ok);
        hin[k] = analysis_headline(&l->in[k]), hout[k] = analysis_headline(&l->out[k]);
    }
    cJSON_AddItemToObject(lj, "context_width", context_width_json(r, hin, hout));
    if (r->n_labels > 0) {
        cJSON *labels = cJSON_AddObjectToObject(lj, "labels");
        for (int u = 0; u < r->n_labels; u++) analysis_labelset_json(cJSON_AddObjectToObject(labels, r->label_names[u]), &l->labels[u]);
    }
    return lj;
}

static cJSON *layer_mean_json(const softent_analysis_result *r)
{
    const int corrected = analysis_corrected(r);
    cJSON *lm = cJSON_CreateObject();
    cJSON_AddStringToObject(lm, "over", "selected layers >= 1 (the embedding layer 0 is excluded, as in the reference code)");
    cJSON_AddNumberToObject(lm, "n_layers", r->n_mean);
    cli_json_number(lm, "H", r->mean_H);
    cJSON *mo = cJSON_AddArrayToObject(lm, "orders");
    for (int k = 0; k < r->n_orders; k++) {
        cJSON *ok = cJSON_CreateObject();
        cJSON_AddNumberToObject(ok, "n", r->orders[k]);
        cli_json_number(ok, "I_in", r->mean_in[k]);
        cli_json_number(ok, "I_out", r->mean_out[k]);
        cli_json_number(ok, "optimality", r->mean_opt[k]);
        cli_json_number(ok, "I_in_corrected", r->mean_in_corrected[k]);
        cli_json_number(ok, "I_out_corrected", r->mean_out_corrected[k]);
        cli_json_number(ok, "optimality_corrected", r->mean_opt_corrected[k]);
        if (r->bootstrap > 0) {
            cli_json_interval(ok, "I_in_corrected_interval", r->mean_in_corrected_lo[k], r->mean_in_corrected_hi[k]);
            cli_json_interval(ok, "I_out_corrected_interval", r->mean_out_corrected_lo[k], r->mean_out_corrected_hi[k]);
            cli_json_interval(ok, "optimality_corrected_interval", r->mean_opt_corrected_lo[k], r->mean_opt_corrected_hi[k]);
        }
        cli_json_number(ok, "I_in_null_sd", r->mean_in_null_sd[k]);
        cli_json_number(ok, "I_out_null_sd", r->mean_out_null_sd[k]);
        cJSON_AddItemToArray(mo, ok);
    }
    cJSON_AddItemToObject(lm, "context_width", context_width_json(r, corrected ? r->mean_in_corrected : r->mean_in,
                                                                  corrected ? r->mean_out_corrected : r->mean_out));
    if (r->n_labels > 0) {
        cJSON *labels = cJSON_AddObjectToObject(lm, "labels");
        for (int u = 0; u < r->n_labels; u++) {
            cJSON *o = cJSON_AddObjectToObject(labels, r->label_names[u]);
            cli_json_number(o, "I", r->mean_label[u]);
            cli_json_number(o, "I_corrected", r->mean_label_corrected[u]);
            if (r->bootstrap > 0) cli_json_interval(o, "I_corrected_interval", r->mean_label_corrected_lo[u], r->mean_label_corrected_hi[u]);
        }
    }
    return lm;
}

cJSON *analysis_result_json(const softent_analysis_result *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "headline", analysis_basis(r));
    if (r->bootstrap > 0) {
        cJSON *b = cJSON_AddObjectToObject(root, "bootstrap");
        cJSON_AddNumberToObject(b, "replicates", r->bootstrap);
        cJSON_AddNumberToObject(b, "level", r->level);
        cJSON_AddStringToObject(b, "over", "documents (Poisson weights), re-centred percentile intervals; docs/statistics.md");
    }
    cJSON_AddStringToObject(root, "context_width_basis",
                            analysis_corrected(r) ? "corrected: I_c(n) - I_c(n-1) of the headline I_c"
                                                  : "plug-in: I(n) - I(n-1) (biased upward)");
    cJSON *layers = cJSON_AddArrayToObject(root, "layers");
    for (int s = 0; s < r->n_layers; s++) cJSON_AddItemToArray(layers, layer_json(r, &r->layers[s]));
    cJSON_AddItemToObject(root, "layer_mean", layer_mean_json(r));
    return root;
}

cJSON *analysis_settings_json(const analysis_options *o, double eps)
{
    const softent_analysis_params *a = &o->a;
    const softent_params *p = &a->params;
    cJSON *st = cJSON_CreateObject();
    cJSON_AddNumberToObject(st, "max_length", (double)a->max_length);
    cJSON_AddNumberToObject(st, "max_docs", (double)a->max_docs);
    cJSON_AddNumberToObject(st, "max_tokens", (double)a->max_tokens);
    cJSON *orders = cJSON_AddArrayToObject(st, "ngrams");
    for (int k = 0; k < a->n_orders; k++) cJSON_AddItemToArray(orders, cJSON_CreateNumber(a->orders[k]));
    cJSON_AddStringToObject(st, "positions", "t in [n_max - 1, len - n_max) of each document");
    cJSON_AddStringToObject(st, "layers", o->layers_spec);
    if (a->text_field) cJSON_AddStringToObject(st, "text_field", a->text_field);
    cJSON_AddNumberToObject(st, "m", (double)p->m);
    cJSON_AddNumberToObject(st, "seed", (double)p->seed);
    cJSON_AddStringToObject(st, "calibration", softent_calibration_name(p->calibration));
    cJSON_AddNumberToObject(st, "eps", eps);
    cJSON_AddStringToObject(st, "weighting", p->weighting == SOFTENT_WEIGHT_UNIFORM ? "uniform" : "prob");
    cJSON_AddStringToObject(st, "product", softent_product_name(p->product));
    cJSON_AddNumberToObject(st, "min_count", (double)p->min_count);
    cJSON_AddStringToObject(st, "min_count_rule",
                            "a position is kept for order n (in both in{n} and out{n}) when its input and its output n-gram "
                            "each occur >= min_count times among all positions");
    cJSON_AddNumberToObject(st, "null_perms", p->null_perms);
    cJSON_AddNumberToObject(st, "null_reservoir", (double)p->null_reservoir);
    cJSON_AddNumberToObject(st, "null_seed", (double)p->null_seed);
    cJSON_AddStringToObject(st, "correction", softent_correction_name(p->correction));
    cJSON_AddNumberToObject(st, "bootstrap", p->bootstrap);
    cJSON_AddNumberToObject(st, "bootstrap_seed", (double)p->bootstrap_seed);
    cJSON_AddNumberToObject(st, "level", p->level);
    cJSON_AddStringToObject(st, "units", units_name(o->units));
    if (a->n_labels > 0) {
        cJSON *labels = cJSON_AddObjectToObject(st, "labels");
        for (int u = 0; u < a->n_labels; u++) cJSON_AddStringToObject(labels, a->label_names[u], a->label_paths[u]);
        cJSON_AddStringToObject(st, "labels_rule", "one label a token (special tokens included), the row of a position its token's label");
    }
    return st;
}

cJSON *analysis_corpus_json(const softent_analysis_corpus *corpus, const char *path)
{
    softent_analysis_corpus_info c;
    softent_analysis_corpus_get_info(corpus, &c);
    cJSON *o = cJSON_CreateObject();
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)c.token_hash);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddNumberToObject(o, "documents_read", (double)c.docs_read);
    cJSON_AddNumberToObject(o, "documents_used", (double)c.docs_used);
    cJSON_AddNumberToObject(o, "documents_too_short", (double)c.docs_short);
    cJSON_AddNumberToObject(o, "tokens", (double)c.tokens);
    cJSON_AddNumberToObject(o, "positions", (double)c.positions);
    cJSON_AddStringToObject(o, "token_stream_fnv1a64", hash);
    return o;
}

/* One tidy row; an undefined value is an empty field, never "nan". */
static void csv_row(FILE *f, const char *model, const char *checkpoint, const char *layer, const char *set, int n,
                    const char *measure, double v)
{
    char label[32] = "";
    if (set[0]) snprintf(label, sizeof label, n > 0 ? "%s%d" : "%s", set, n);
    fprintf(f, "\"%s\",%s,%s,%s,%s,", model, checkpoint, layer, label, measure);
    if (isfinite(v)) fprintf(f, "%.17g", v);
    fprintf(f, "\n");
}

void analysis_labelset_csv(FILE *f, const char *model, const char *checkpoint, const char *layer, const char *set, int n,
                           const softent_labelset_measures *m)
{
    csv_row(f, model, checkpoint, layer, set, n, "I", m->mi);
    csv_row(f, model, checkpoint, layer, set, n, "rows", (double)m->rows);
    csv_row(f, model, checkpoint, layer, set, n, "H", m->H);
    csv_row(f, model, checkpoint, layer, set, n, "I_corrected", m->correction != SOFTENT_CORRECT_NONE ? m->mi_corrected : NAN);
    csv_row(f, model, checkpoint, layer, set, n, "I_curve", m->mi_curve);
    if (m->bootstrap > 0) {
        csv_row(f, model, checkpoint, layer, set, n, "I_corrected_lo", m->mi_corrected_lo);
        csv_row(f, model, checkpoint, layer, set, n, "I_corrected_hi", m->mi_corrected_hi);
    }
    if (!analysis_null_ran(m)) return;
    csv_row(f, model, checkpoint, layer, set, n, "I_null_corrected", m->mi_null_corrected);
    csv_row(f, model, checkpoint, layer, set, n, "p_value", m->p_value);
    csv_row(f, model, checkpoint, layer, set, n, "I_null_mean", m->mi_null_mean);
    csv_row(f, model, checkpoint, layer, set, n, "I_null_sd", m->mi_null_sd);
}

/* Rows n{N},dI_in / dI_out of the headline values, as context_width_json. */
static void context_width_csv(FILE *f, const char *model, const char *checkpoint, const char *layer,
                              const softent_analysis_result *r, const double *in, const double *out)
{
    for (int k = 0; k < r->n_orders; k++) {
        int j = order_index(r, r->orders[k] - 1);
        if (j < 0) continue;
        csv_row(f, model, checkpoint, layer, "n", r->orders[k], "dI_in", in[k] - in[j]);
        csv_row(f, model, checkpoint, layer, "n", r->orders[k], "dI_out", out[k] - out[j]);
    }
}

void analysis_result_csv(FILE *f, const char *model, const char *checkpoint, const softent_analysis_result *r)
{
    for (int s = 0; s < r->n_layers; s++) {
        const softent_analysis_layer *l = &r->layers[s];
        char layer[16];
        snprintf(layer, sizeof layer, "%d", l->layer);
        csv_row(f, model, checkpoint, layer, "", 0, "H", l->H);
        double hin[SOFTENT_MAX_ARITY], hout[SOFTENT_MAX_ARITY];
        for (int k = 0; k < r->n_orders; k++) {
            const int n = r->orders[k];
            analysis_labelset_csv(f, model, checkpoint, layer, "in", n, &l->in[k]);
            analysis_labelset_csv(f, model, checkpoint, layer, "out", n, &l->out[k]);
            csv_row(f, model, checkpoint, layer, "n", n, "optimality", l->optimality[k]);
            csv_row(f, model, checkpoint, layer, "n", n, "optimality_corrected", l->optimality_corrected[k]);
            if (r->bootstrap > 0) {
                csv_row(f, model, checkpoint, layer, "n", n, "optimality_corrected_lo", l->opt_corrected_lo[k]);
                csv_row(f, model, checkpoint, layer, "n", n, "optimality_corrected_hi", l->opt_corrected_hi[k]);
            }
            hin[k] = analysis_headline(&l->in[k]), hout[k] = analysis_headline(&l->out[k]);
        }
        context_width_csv(f, model, checkpoint, layer, r, hin, hout);
        for (int u = 0; u < r->n_labels; u++) analysis_labelset_csv(f, model, checkpoint, layer, r->label_names[u], 0, &l->labels[u]);
    }
}

void analysis_mean_csv(FILE *f, const char *model, const char *checkpoint, const softent_analysis_result *r)
{
    const int corrected = analysis_corrected(r);
    csv_row(f, model, checkpoint, "mean", "", 0, "H", r->mean_H);
    for (int k = 0; k < r->n_orders; k++) {
        const int n = r->orders[k];
        csv_row(f, model, checkpoint, "mean", "in", n, "I", r->mean_in[k]);
        csv_row(f, model, checkpoint, "mean", "out", n, "I", r->mean_out[k]);
        csv_row(f, model, checkpoint, "mean", "n", n, "optimality", r->mean_opt[k]);
        if (!corrected) continue;
        csv_row(f, model, checkpoint, "mean", "in", n, "I_corrected", r->mean_in_corrected[k]);
        csv_row(f, model, checkpoint, "mean", "out", n, "I_corrected", r->mean_out_corrected[k]);
        csv_row(f, model, checkpoint, "mean", "n", n, "optimality_corrected", r->mean_opt_corrected[k]);
        if (r->bootstrap > 0) {
            csv_row(f, model, checkpoint, "mean", "in", n, "I_corrected_lo", r->mean_in_corrected_lo[k]);
            csv_row(f, model, checkpoint, "mean", "in", n, "I_corrected_hi", r->mean_in_corrected_hi[k]);
            csv_row(f, model, checkpoint, "mean", "out", n, "I_corrected_lo", r->mean_out_corrected_lo[k]);
            csv_row(f, model, checkpoint, "mean", "out", n, "I_corrected_hi", r->mean_out_corrected_hi[k]);
            csv_row(f, model, checkpoint, "mean", "n", n, "optimality_corrected_lo", r->mean_opt_corrected_lo[k]);
            csv_row(f, model, checkpoint, "mean", "n", n, "optimality_corrected_hi", r->mean_opt_corrected_hi[k]);
        }
        if (!analysis_has_null(r)) continue;
        csv_row(f, model, checkpoint, "mean", "in", n, "I_null_sd", r->mean_in_null_sd[k]);
        csv_row(f, model, checkpoint, "mean", "out", n, "I_null_sd", r->mean_out_null_sd[k]);
    }
    context_width_csv(f, model, checkpoint, "mean", r, corrected ? r->mean_in_corrected : r->mean_in,
                      corrected ? r->mean_out_corrected : r->mean_out);
    for (int u = 0; u < r->n_labels; u++) {
        const char *set = r->label_names[u];
        csv_row(f, model, checkpoint, "mean", set, 0, "I", r->mean_label[u]);
        if (!corrected) continue;
        csv_row(f, model, checkpoint, "mean", set, 0, "I_corrected", r->mean_label_corrected[u]);
        if (r->bootstrap <= 0) continue;
        csv_row(f, model, checkpoint, "mean", set, 0, "I_corrected_lo", r->mean_label_corrected_lo[u]);
        csv_row(f, model, checkpoint, "mean", set, 0, "I_corrected_hi", r->mean_label_corrected_hi[u]);
    }
}

int analysis_figure_values(const softent_analysis_result *r, int **layers, double **H, double **values)
{
    *layers = malloc((size_t)r->n_layers * sizeof **layers);
    *H = malloc((size_t)r->n_layers * sizeof **H);
    *values = malloc((size_t)(r->n_layers * r->n_orders * FIG_NV) * sizeof **values);
    if (!*layers || !*H || !*values) return cli_error("out of memory");
    for (int s = 0; s < r->n_layers; s++) {
        const softent_analysis_layer *l = &r->layers[s];
        (*layers)[s] = l->layer;
        (*H)[s] = l->H;
        for (int k = 0; k < r->n_orders; k++)
            figure_point(*values + ((int64_t)s * r->n_orders + k) * FIG_NV, &l->in[k], &l->out[k], l->optimality[k],
                         l->optimality_corrected[k]);
    }
    return 0;
}

void figure_point(double *v, const softent_labelset_measures *in, const softent_labelset_measures *out, double opt,
                  double opt_corrected)
{
    const int null = analysis_null_ran(in);
    v[FIG_I_IN] = in->mi, v[FIG_I_OUT] = out->mi, v[FIG_OPT] = opt;
    v[FIG_IC_IN] = analysis_headline(in), v[FIG_IC_OUT] = analysis_headline(out);
    v[FIG_OPT_C] = opt_corrected;
    v[FIG_SD_IN] = null ? in->mi_null_sd : NAN, v[FIG_SD_OUT] = null ? out->mi_null_sd : NAN;
    v[FIG_LO_IN] = in->mi_corrected_lo, v[FIG_HI_IN] = in->mi_corrected_hi;
    v[FIG_LO_OUT] = out->mi_corrected_lo, v[FIG_HI_OUT] = out->mi_corrected_hi;
}

/* ---- the printed tables ---------------------------------------------------- */

/* A value, or "-" where undefined (no "nan" in a table). */
static int cell(FILE *f, double v, int prec)
{
    if (isfinite(v)) { fprintf(f, " %9.*f", prec, v); return 0; }
    fprintf(f, " %9s", "-");
    return 1;
}

/* One order group's width: a space and three cells of 10. */
#define GROUP_WIDTH 31

void analysis_table_head(FILE *f, const softent_analysis_result *r, const char *lead)
{
    const int corrected = analysis_corrected(r), width = GROUP_WIDTH * r->n_orders;
    fprintf(f, "%*s", (int)strlen(lead), "");
    if (corrected) fprintf(f, "  %-*s |  %s\n", width - 2, analysis_basis(r), "plug-in");
    else fprintf(f, "  %s\n", analysis_basis(r));
    fprintf(f, "%s", lead);
    for (int g = 0; g < 1 + corrected; g++) {
        if (g) fprintf(f, " |");
        for (int k = 0; k < r->n_orders; k++) {
            char a[16], b[16], c[16];
            snprintf(a, sizeof a, "I_in%d", r->orders[k]);
            snprintf(b, sizeof b, "I_out%d", r->orders[k]);
            snprintf(c, sizeof c, "opt%d", r->orders[k]);
            fprintf(f, "  %9s %9s %9s", a, b, c);
        }
    }
    fprintf(f, "\n");
}

int analysis_table_row(FILE *f, const softent_analysis_result *r, int s)
{
    const int corrected = analysis_corrected(r);
    int undefined = 0;
    for (int g = corrected ? 0 : 1; g < 2; g++) {
        if (g && corrected) fprintf(f, " |");
        for (int k = 0; k < r->n_orders; k++) {
            double in, out, opt;
            if (s >= 0) {
                const softent_analysis_layer *l = &r->layers[s];
                in = g ? l->in[k].mi : l->in[k].mi_corrected, out = g ? l->out[k].mi : l->out[k].mi_corrected;
                opt = g ? l->optimality[k] : l->optimality_corrected[k];
            } else {
                in = g ? r->mean_in[k] : r->mean_in_corrected[k], out = g ? r->mean_out[k] : r->mean_out_corrected[k];
                opt = g ? r->mean_opt[k] : r->mean_opt_corrected[k];
            }
            fprintf(f, " ");
            undefined += cell(f, in, 6) + cell(f, out, 6) + cell(f, opt, 4);
        }
    }
    fprintf(f, "\n");
    return undefined;
}

/* " [lo, hi]", or " [-]" where undefined. */
static void interval_text(FILE *f, double lo, double hi)
{
    if (isfinite(lo) && isfinite(hi)) fprintf(f, " [%.4f, %.4f]", lo, hi);
    else fprintf(f, " [-]");
}

void analysis_table_notes(FILE *f, const softent_analysis_result *r, int undefined, const char *which)
{
    if (!analysis_corrected(r))
        fprintf(f, "plug-in values only (--correction none): I is biased upward for label sets with many rare values\n");
    else if (r->layers[0].in[0].correction == SOFTENT_CORRECT_TAYLOR)
        fprintf(f, "corrected = plug-in I with each value's entropy raised by its own leading-order bias (Miller-Madow "
                   "for soft counts; the headline); plug-in values beside them\n");
    else if (r->layers[0].in[0].correction == SOFTENT_CORRECT_NULL) {
        char null[64];
        fprintf(f, "corrected = plug-in I minus the mean of %s (the headline); plug-in values beside them\n",
                analysis_null_phrase(&r->layers[0].in[0], null, sizeof null));
    }
    else
        fprintf(f, "corrected = plug-in I with each value's entropy raised by its bias curve J(n) (docs/statistics.md; "
                   "the headline); plug-in values beside them\n");
    if (undefined) fprintf(f, "-: undefined or unknown (optimality where I(in) <= 0; a validation loss without loss.csv)\n");
    if (r->bootstrap > 0 && r->n_mean > 0) {
        fprintf(f, "%g%% intervals of the corrected layer means%s (Poisson bootstrap over documents, %d replicates):\n",
                100 * r->level, which, r->bootstrap);
        for (int k = 0; k < r->n_orders; k++) {
            fprintf(f, "  n = %d: I_in", r->orders[k]);
            interval_text(f, r->mean_in_corrected_lo[k], r->mean_in_corrected_hi[k]);
            fprintf(f, "  I_out");
            interval_text(f, r->mean_out_corrected_lo[k], r->mean_out_corrected_hi[k]);
            fprintf(f, "  opt");
            interval_text(f, r->mean_opt_corrected_lo[k], r->mean_opt_corrected_hi[k]);
            fprintf(f, "\n");
        }
    }
}

/* A label set's headline, its interval when one ran, and the plug-in in
 * parentheses, in a cell of LABEL_WIDTH. */
#define LABEL_WIDTH 38
static int label_cell(FILE *f, int corrected, double head, double lo, double hi, double plugin, int bootstrap)
{
    char text[128] = "-", iv[48] = "";
    if (bootstrap > 0 && corrected && isfinite(lo) && isfinite(hi)) snprintf(iv, sizeof iv, " [%.4f, %.4f]", lo, hi);
    if (!corrected && isfinite(plugin)) snprintf(text, sizeof text, "%.6f", plugin);
    else if (corrected && isfinite(head)) snprintf(text, sizeof text, "%.6f%s (%.6f)", head, iv, plugin);
    fprintf(f, "  %-*s", LABEL_WIDTH, text);
    return !strcmp(text, "-");
}

void analysis_labels_head(FILE *f, const softent_analysis_result *r, const char *lead)
{
    const int corrected = analysis_corrected(r);
    fprintf(f, "\nI(label; Z) of the user's label sets, %s%s%s:\n%s", analysis_basis(r),
            corrected && r->bootstrap > 0 ? " [interval]" : "", corrected ? " (plug-in)" : "", lead);
    for (int u = 0; u < r->n_labels; u++) fprintf(f, "  %-*s", LABEL_WIDTH, r->label_names[u]);
    fprintf(f, "\n");
}

int analysis_labels_row(FILE *f, const softent_analysis_result *r, int s)
{
    const int corrected = analysis_corrected(r);
    int undefined = 0;
    for (int u = 0; u < r->n_labels; u++) {
        if (s >= 0) {
            const softent_labelset_measures *m = &r->layers[s].labels[u];
            undefined += label_cell(f, corrected, m->mi_corrected, m->mi_corrected_lo, m->mi_corrected_hi, m->mi, m->bootstrap);
        } else {
            undefined += label_cell(f, corrected, r->mean_label_corrected[u], r->mean_label_corrected_lo[u],
                                    r->mean_label_corrected_hi[u], r->mean_label[u], r->bootstrap);
        }
    }
    fprintf(f, "\n");
    return undefined;
}
