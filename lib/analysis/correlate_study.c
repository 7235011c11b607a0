/*
 * correlate_study.c - the models joined to their scores, the benchmarks
 * normalised and aggregated (Open LLM Leaderboard v2), and every measure
 * against every benchmark and the aggregate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "softent_correlate.h"

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Up to about 1 KiB of names, comma-separated, into out. */
static void list_names(char *out, size_t size, const char *const *names, int n)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < n && k + 1 < size; i++) {
        int w = snprintf(out + k, size - k, "%s%s", i ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= size - k) {
            snprintf(out + (size > 5 ? size - 5 : 0), 5, "...");
            return;
        }
        k += (size_t)w;
    }
}

static int is_constant(const double *v, int n)
{
    for (int i = 1; i < n; i++)
        if (v[i] != v[0]) return 0;
    return 1;
}

int softent_corr_study_run(softent_corr_study *st, const softent_corr_results *res, const softent_corr_scores *s,
                           const char *const *covariates, int n_cov, const char *const *bench_names, const double *bench_values,
                           int n_base, const softent_corr_params *p)
{
    memset(st, 0, sizeof *st);
    const int n = res->n_models;
    const char *csv = s->source ? s->source : "scores";
    char names[1100], rows[1100];
    /* the join: a scores row matches a model's name or its alias */
    st->row_of = malloc(sizeof *st->row_of * (size_t)(n ? n : 1));
    const char **missing = malloc(sizeof *missing * (size_t)(n ? n : 1));
    if (!st->row_of || !missing) {
        free(missing);
        softent_corr_study_free(st);
        return se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
    }
    int n_missing = 0;
    for (int i = 0; i < n; i++) {
        st->row_of[i] = -1;
        for (int r = 0; r < s->n_rows && st->row_of[i] < 0; r++)
            if (!strcmp(s->rows[r], res->models[i].name) || !strcmp(s->rows[r], res->models[i].alias)) st->row_of[i] = r;
        if (st->row_of[i] < 0) missing[n_missing++] = res->models[i].alias;
        for (int j = 0; j < i && st->row_of[i] >= 0; j++)
            if (st->row_of[j] == st->row_of[i]) {
                free(missing);
                softent_corr_study_free(st);
                return se_fail(SOFTENT_E_INVALID, "%s: row \"%s\" matches both %s and %s", csv, s->rows[st->row_of[i]], res->models[j].name,
                               res->models[i].name);
            }
    }
    if (n_missing) {
        list_names(names, sizeof names, missing, n_missing);
        list_names(rows, sizeof rows, (const char *const *)s->rows, s->n_rows);
        free(missing);
        softent_corr_study_free(st);
        return se_fail(SOFTENT_E_MISMATCH, "%s: no scores for %d model%s: %s (the CSV's models: %s)", csv, n_missing, n_missing > 1 ? "s" : "",
                       names, rows);
    }
    free(missing);
    if (n < 4) {
        softent_corr_study_free(st);
        return se_fail(SOFTENT_E_INVALID, "correlate: %d model%s; a correlation needs at least 4", n, n == 1 ? "" : "s");
    }
    /* covariates set aside */
    int *is_cov = calloc((size_t)s->n_cols, sizeof *is_cov);
    if (!is_cov) {
        softent_corr_study_free(st);
        return se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
    }
    int rc = SOFTENT_OK;
    for (int c = 0; c < n_cov && !rc; c++) {
        int col = -1;
        for (int j = 0; j < s->n_cols; j++)
            if (!strcmp(s->cols[j], covariates[c])) col = j;
        if (col < 0) {
            list_names(names, sizeof names, (const char *const *)s->cols, s->n_cols);
            rc = se_fail(SOFTENT_E_INVALID, "%s: covariate \"%s\" is not a %s (they are: %s)", csv, covariates[c], s->tidy ? "benchmark" : "column",
                         names);
        } else if (is_cov[col]) rc = se_fail(SOFTENT_E_INVALID, "covariate \"%s\" given twice", covariates[c]);
        else is_cov[col] = 1 + c;
    }
    for (int b = 0; b < n_base && !rc; b++) {
        int col = -1;
        for (int j = 0; j < s->n_cols; j++)
            if (!strcmp(s->cols[j], bench_names[b])) col = j;
        if (col < 0 || is_cov[col]) rc = se_fail(SOFTENT_E_INVALID, "%s: --baseline %s: not a benchmark", csv, bench_names[b]);
    }
    const int n_bench = s->n_cols - n_cov;
    if (!rc && n_bench < 1) rc = se_fail(SOFTENT_E_INVALID, "%s: no benchmark left beside the covariates", csv);
    if (!rc && n < n_cov + 3) rc = se_fail(SOFTENT_E_INVALID, "correlate: %d models for %d covariates; the partial correlation needs at least %d", n, n_cov, n_cov + 3);
    if (rc) {
        free(is_cov);
        softent_corr_study_free(st);
        return rc;
    }
    st->n_models = n;
    st->n_targets = n_bench + 1;
    st->n_covariates = n_cov;
    st->n_measures = res->n_measures;
    st->targets = calloc((size_t)st->n_targets, sizeof *st->targets);
    st->target = calloc((size_t)st->n_targets * (size_t)n, sizeof *st->target);
    st->normalised = calloc((size_t)n_bench * (size_t)n, sizeof *st->normalised);
    st->baselines = calloc((size_t)n_bench, sizeof *st->baselines);
    st->tops = calloc((size_t)n_bench, sizeof *st->tops);
    st->covariates = calloc((size_t)(n_cov ? n_cov : 1), sizeof *st->covariates);
    st->cov = calloc((size_t)(n_cov ? n_cov : 1) * (size_t)n, sizeof *st->cov);
    st->stats = calloc((size_t)(st->n_measures ? st->n_measures : 1) * (size_t)st->n_targets, sizeof *st->stats);
    if (!st->targets || !st->target || !st->normalised || !st->baselines || !st->tops || !st->covariates || !st->cov || !st->stats)
        rc = se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
    for (int j = 0, t = 0; j < s->n_cols && !rc; j++) {
        double *dst = is_cov[j] ? st->cov + (size_t)(is_cov[j] - 1) * (size_t)n : st->target + (size_t)t * (size_t)n;
        if (is_cov[j]) st->covariates[is_cov[j] - 1] = dup(s->cols[j]);
        else st->targets[t] = dup(s->cols[j]);
        for (int i = 0; i < n && !rc; i++) {
            dst[i] = s->scores[(size_t)st->row_of[i] * (size_t)s->n_cols + (size_t)j];
            if (!isfinite(dst[i]))
                rc = se_fail(SOFTENT_E_INVALID, "%s: %s %s \"%s\" of model %s (use a number for every model)", csv,
                             isnan(dst[i]) ? "no (or a NaN)" : "an infinite", is_cov[j] ? "covariate" : "score in", s->cols[j],
                             s->rows[st->row_of[i]]);
        }
        if (!rc && is_constant(dst, n))
            rc = se_fail(SOFTENT_E_INVALID, "%s: %s \"%s\" is constant over the %d models: no correlation is defined", csv,
                         is_cov[j] ? "covariate" : "benchmark", s->cols[j], n);
        if (!rc && !is_cov[j]) {
            /* baseline and scale */
            double b = s->baselines[j];
            for (int q = 0; q < n_base; q++)
                if (!strcmp(bench_names[q], s->cols[j])) b = bench_values[q];
            if (isnan(b)) b = 0;
            int fractions = b >= 0 && b <= 1, percent = b >= 0 && b <= 100;
            for (int i = 0; i < n; i++) {
                fractions &= dst[i] >= 0 && dst[i] <= 1;
                percent &= dst[i] >= 0 && dst[i] <= 100;
            }
            const double top = fractions ? 1 : 100;
            if (!percent) rc = se_fail(SOFTENT_E_INVALID, "%s: benchmark \"%s\": scores or baseline outside [0, 1] and [0, 100]", csv, s->cols[j]);
            else if (!(b < top)) rc = se_fail(SOFTENT_E_INVALID, "%s: benchmark \"%s\": baseline %g is not below the top score %g", csv, s->cols[j], b, top);
            st->baselines[t] = b;
            st->tops[t] = top;
            for (int i = 0; i < n && !rc; i++) {
                double v = 100 * (dst[i] - b) / (top - b);
                st->normalised[(size_t)t * (size_t)n + (size_t)i] = v > 0 ? v : 0;
            }
        }
        if (!is_cov[j]) t++;
    }
    free(is_cov);
    if (!rc && !(st->targets[n_bench] = dup("aggregate"))) rc = se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
    double *agg = st->target + (size_t)n_bench * (size_t)n;
    for (int i = 0; i < n && !rc; i++) {
        double sum = 0;
        for (int t = 0; t < n_bench; t++) sum += st->normalised[(size_t)t * (size_t)n + (size_t)i];
        agg[i] = sum / n_bench;
    }
    if (!rc && is_constant(agg, n))
        rc = se_fail(SOFTENT_E_INVALID, "%s: the aggregate (normalised mean) score is constant over the models: no correlation is defined", csv);
    double *x = malloc(sizeof *x * (size_t)n);
    if (!rc && !x) rc = se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
    for (int m = 0; m < st->n_measures && !rc; m++) {
        for (int i = 0; i < n; i++) x[i] = res->models[i].values[m];
        if (is_constant(x, n))
            rc = se_fail(SOFTENT_E_INVALID, "%s: measure %s is constant over the %d models: no correlation is defined", res->models[0].source,
                         res->measures[m], n);
        for (int t = 0; t < st->n_targets && !rc; t++) {
            const double *y = st->target + (size_t)t * (size_t)n;
            softent_corr_stat *c = &st->stats[(size_t)m * (size_t)st->n_targets + (size_t)t];
            c->n = n;
            c->spearman = softent_spearman(x, y, n);
            c->pearson = softent_pearson(x, y, n);
            c->spearman_p_t = softent_corr_p_t(c->spearman, n - 2);
            c->pearson_p_t = softent_corr_p_t(c->pearson, n - 2);
            c->spearman_p_perm = c->pearson_p_perm = NAN;
            c->spearman_lo = c->spearman_hi = c->pearson_lo = c->pearson_hi = NAN;
            c->partial = c->partial_p_t = c->partial_p_perm = c->partial_lo = c->partial_hi = NAN;
            if (p->permutations > 0) {
                rc = softent_corr_p_perm(x, y, n, 1, p->permutations, p->seed, &c->spearman_p_perm);
                if (!rc) rc = softent_corr_p_perm(x, y, n, 0, p->permutations, p->seed, &c->pearson_p_perm);
            }
            if (!rc && p->bootstrap > 0) {
                rc = softent_corr_bootstrap(x, y, n, 1, p->bootstrap, p->seed, p->level, &c->spearman_lo, &c->spearman_hi, &c->boot_skipped_s);
                if (!rc)
                    rc = softent_corr_bootstrap(x, y, n, 0, p->bootstrap, p->seed, p->level, &c->pearson_lo, &c->pearson_hi, &c->boot_skipped_p);
            }
            if (!rc && n_cov) {
                rc = softent_partial_corr(x, y, n, st->cov, n_cov, 1, &c->partial);
                if (rc) {
                    char detail[512];
                    snprintf(detail, sizeof detail, "%s", softent_last_error());
                    rc = se_fail(rc, "%s: %s", csv, detail);
                }
                else c->partial_p_t = softent_corr_p_t(c->partial, n - 2 - n_cov);
                if (!rc && p->permutations > 0 && !isnan(c->partial))
                    rc = softent_partial_p_perm(x, y, n, st->cov, n_cov, 1, p->permutations, p->seed, &c->partial_p_perm);
                if (!rc && p->bootstrap > 0)
                    rc = softent_partial_bootstrap(x, y, n, st->cov, n_cov, 1, p->bootstrap, p->seed, p->level, &c->partial_lo,
                                                   &c->partial_hi, &c->boot_skipped_partial);
            }
        }
    }
    free(x);
    if (rc) softent_corr_study_free(st);
    return rc;
}

void softent_corr_study_free(softent_corr_study *st)
{
    if (!st) return;
    if (st->targets)
        for (int t = 0; t < st->n_targets; t++) free(st->targets[t]);
    if (st->covariates)
        for (int c = 0; c < st->n_covariates; c++) free(st->covariates[c]);
    free(st->targets);
    free(st->covariates);
    free(st->row_of);
    free(st->target);
    free(st->normalised);
    free(st->baselines);
    free(st->tops);
    free(st->cov);
    free(st->stats);
    memset(st, 0, sizeof *st);
}
