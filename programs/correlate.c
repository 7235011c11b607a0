/*
 * correlate.c - `softent correlate`: the measures of several models
 * (analyze or trace results) against their benchmark scores.  The library
 * (softent_correlate.h) reads, joins and computes; this prints the table
 * and writes correlate.json, correlate.csv and the figures.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/fs.h"
#include "figures.h"
#include "softent_correlate.h"

#define MAX_LIST 64

static const char USAGE[] =
    "usage: softent correlate RESULT.json... --scores SCORES.csv [--out DIR]\n"
    "                         [--layer N | --layers A-B] [--covariate NAME]...\n"
    "                         [--baseline BENCH=VALUE]... [--permutations R]\n"
    "                         [--bootstrap B] [--seed S] [--level 0.95] [--no-figures]\n"
    "\n"
    "Correlate per-model measures (analysis.json of softent analyze, or\n"
    "trajectory.json of softent trace: a model per checkpoint) with benchmark\n"
    "scores.  Each result is joined to the CSV row naming its model path or\n"
    "its basename (a checkpoint: its path, or RUN_BASENAME@STEP).\n"
    "\n"
    "SCORES.csv is tidy (header model,benchmark,score[,baseline]) or wide\n"
    "(model,BENCH1,BENCH2,...).  --covariate NAME sets a column (wide) or a\n"
    "benchmark (tidy) aside as a covariate of the partial Spearman (e.g.\n"
    "parameter count); --baseline BENCH=VALUE is the random-guess score of a\n"
    "benchmark (default: the CSV's baseline column, else 0).  The aggregate is\n"
    "the mean over benchmarks of max(0, 100 (score - baseline) / (top -\n"
    "baseline)), top 1 for fractions and 100 for percentages (Open LLM\n"
    "Leaderboard v2).\n"
    "\n"
    "Measures: the results' layer means (layers >= 1) by default, or --layer N,\n"
    "or the mean over --layers A-B: H, and per order n complexity_nN,\n"
    "expressivity_nN, optimality_nN, context width dI_in_nN / dI_out_nN;\n"
    "the results' corrected values (their headline correction) where every result\n"
    "has them, plug-in otherwise.\n"
    "\n"
    "  --permutations R   permutation p-values from R seeded permutations (default 9999; 0: none)\n"
    "  --bootstrap B      percentile bootstrap intervals from B resamples of the models (default 2000; 0: none)\n"
    "  --seed S           seed of both (default 0)\n"
    "  --level L          the intervals' level (default 0.95)\n"
    "  --out DIR          correlate.json, correlate.csv, scatter_*.png/svg, heatmap.png/svg (default correlate)\n"
    "\n"
    "docs/correlate.md has the formats and the statistics.\n";

static const char *basis(const softent_corr_results *res, int m)
{
    if (!strcmp(res->measures[m], "H")) return "plug-in (H needs no correction)";
    return res->plugin_only[m] ? "plug-in (a result without corrected values: biased upward)" : "corrected (the headline correction of each result)";
}

static int ci_includes_0(double lo, double hi)
{
    return isfinite(lo) && isfinite(hi) && lo <= 0 && hi >= 0;
}

static const softent_corr_stat *stat_of(const softent_corr_study *st, int m, int t)
{
    return &st->stats[(size_t)m * (size_t)st->n_targets + (size_t)t];
}

static void fmt(char *buf, size_t n, const char *f, double v)
{
    if (isfinite(v)) snprintf(buf, n, f, v);
    else snprintf(buf, n, "-");
}

static void print_table(const softent_corr_results *res, const softent_corr_study *st, const softent_corr_params *p)
{
    const int agg = st->n_targets - 1;
    printf("%d models; measures: %s; against the aggregate score (mean of %d normalised benchmarks)\n", st->n_models, res->over,
           st->n_targets - 1);
    int any_plugin = 0;
    for (int m = 0; m < res->n_measures; m++) any_plugin |= res->plugin_only[m];
    printf("values: %s\n", any_plugin ? "plug-in (a result without corrected values: biased upward)" : "corrected (the headline correction of each result)");
    printf("%-16s %3s  %8s %-17s %8s %9s  %8s %-17s %8s %9s", "measure", "n", "spearman", p->bootstrap ? "[CI]" : "", "p_perm", "p_t",
           "pearson", p->bootstrap ? "[CI]" : "", "p_perm", "p_t");
    if (st->n_covariates) printf("  %8s %-17s %8s %9s", "partial", p->bootstrap ? "[CI]" : "", "p_perm", "p_t");
    printf("\n");
    int any_ci0 = 0;
    for (int m = 0; m < res->n_measures; m++) {
        const softent_corr_stat *c = stat_of(st, m, agg);
        char r1[32], ci1[48], pp1[32], pt1[32], r2[32], ci2[48], pp2[32], pt2[32], lo[24], hi[24];
        fmt(r1, sizeof r1, "%.3f", c->spearman);
        fmt(lo, sizeof lo, "%.2f", c->spearman_lo), fmt(hi, sizeof hi, "%.2f", c->spearman_hi);
        snprintf(ci1, sizeof ci1, p->bootstrap ? "[%s, %s]" : "", lo, hi);
        fmt(pp1, sizeof pp1, "%.4f", c->spearman_p_perm);
        fmt(pt1, sizeof pt1, "%.3g", c->spearman_p_t);
        fmt(r2, sizeof r2, "%.3f", c->pearson);
        fmt(lo, sizeof lo, "%.2f", c->pearson_lo), fmt(hi, sizeof hi, "%.2f", c->pearson_hi);
        snprintf(ci2, sizeof ci2, p->bootstrap ? "[%s, %s]" : "", lo, hi);
        fmt(pp2, sizeof pp2, "%.4f", c->pearson_p_perm);
        fmt(pt2, sizeof pt2, "%.3g", c->pearson_p_t);
        printf("%-16s %3lld  %8s %-17s %8s %9s  %8s %-17s %8s %9s", res->measures[m], (long long)c->n, r1, ci1, pp1, pt1, r2, ci2, pp2, pt2);
        if (st->n_covariates) {
            fmt(r1, sizeof r1, "%.3f", c->partial);
            fmt(lo, sizeof lo, "%.2f", c->partial_lo), fmt(hi, sizeof hi, "%.2f", c->partial_hi);
            snprintf(ci1, sizeof ci1, p->bootstrap ? "[%s, %s]" : "", lo, hi);
            fmt(pp1, sizeof pp1, "%.4f", c->partial_p_perm);
            fmt(pt1, sizeof pt1, "%.3g", c->partial_p_t);
            printf("  %8s %-17s %8s %9s", r1, ci1, pp1, pt1);
        }
        if (ci_includes_0(c->spearman_lo, c->spearman_hi)) printf("  CI includes 0"), any_ci0 = 1;
        printf("\n");
    }
    if (any_ci0)
        printf("CI includes 0: the Spearman interval holds 0; no conclusion on the sign of that correlation.\n");
    if (p->permutations) printf("p_perm: two-sided, %lld permutations (seed %llu); p_t: two-sided, Student's t, n - 2 df\n",
                                (long long)p->permutations, (unsigned long long)p->seed);
    else printf("p_t: two-sided, Student's t, n - 2 df (no permutations asked for)\n");
    if (p->bootstrap) printf("[CI]: %.0f%% percentile bootstrap over models, %lld resamples\n", 100 * p->level, (long long)p->bootstrap);
    if (st->n_covariates) {
        printf("partial: Spearman given");
        for (int c = 0; c < st->n_covariates; c++) printf("%s %s", c ? "," : "", st->covariates[c]);
        printf(" (residuals of rank regressions), p_perm by Freedman-Lane, p_t on n - 2 - %d df\n", st->n_covariates);
    }
    if (res->notes[0]) printf("note: %s\n", res->notes);
    if (st->n_targets > 2) {
        printf("\nSpearman r per benchmark:\n%-16s", "measure");
        for (int t = 0; t < st->n_targets; t++) printf(" %10.10s", st->targets[t]);
        printf("\n");
        for (int m = 0; m < res->n_measures; m++) {
            printf("%-16s", res->measures[m]);
            for (int t = 0; t < st->n_targets; t++) printf(" %10.3f", stat_of(st, m, t)->spearman);
            printf("\n");
        }
    }
}

static cJSON *corr_json(double r, double p_t, double p_perm, double lo, double hi)
{
    cJSON *o = cJSON_CreateObject();
    cli_json_number(o, "r", r);
    cli_json_number(o, "p_t", p_t);
    cli_json_number(o, "p_perm", p_perm);
    cJSON *ci = cJSON_AddArrayToObject(o, "ci");
    cJSON_AddItemToArray(ci, isfinite(lo) ? cJSON_CreateNumber(lo) : cJSON_CreateNull());
    cJSON_AddItemToArray(ci, isfinite(hi) ? cJSON_CreateNumber(hi) : cJSON_CreateNull());
    cJSON_AddBoolToObject(o, "ci_includes_0", ci_includes_0(lo, hi));
    return o;
}

static int corr_write_json(const char *path, char **files, int n_files, const softent_corr_results *res, const softent_corr_scores *s,
                      const softent_corr_study *st, const softent_corr_params *p)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "softent_version", SOFTENT_VERSION);
    cJSON_AddStringToObject(root, "command", "correlate");
    cJSON *rs = cJSON_AddArrayToObject(root, "results");
    for (int i = 0; i < n_files; i++) cJSON_AddItemToArray(rs, cJSON_CreateString(files[i]));
    cJSON_AddStringToObject(root, "scores", s->source);
    cJSON_AddStringToObject(root, "scores_format", s->tidy ? "tidy" : "wide");
    cJSON_AddStringToObject(root, "over", res->over);
    cJSON_AddStringToObject(root, "measures_left_out", res->notes);
    char agg[256];
    snprintf(agg, sizeof agg, "mean over the %d benchmarks of max(0, 100 (score - baseline) / (top - baseline)) (Open LLM Leaderboard v2)",
             st->n_targets - 1);
    cJSON_AddStringToObject(root, "aggregation", agg);
    cJSON *set = cJSON_AddObjectToObject(root, "settings");
    cJSON_AddNumberToObject(set, "permutations", (double)p->permutations);
    cJSON_AddNumberToObject(set, "bootstrap", (double)p->bootstrap);
    cJSON_AddNumberToObject(set, "seed", (double)p->seed);
    cJSON_AddNumberToObject(set, "level", p->level);
    cJSON *bs = cJSON_AddArrayToObject(root, "benchmarks");
    for (int t = 0; t + 1 < st->n_targets; t++) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "name", st->targets[t]);
        cJSON_AddNumberToObject(b, "baseline", st->baselines[t]);
        cJSON_AddNumberToObject(b, "top", st->tops[t]);
        cJSON_AddItemToArray(bs, b);
    }
    cJSON *cv = cJSON_AddArrayToObject(root, "covariates");
    for (int c = 0; c < st->n_covariates; c++) cJSON_AddItemToArray(cv, cJSON_CreateString(st->covariates[c]));
    cJSON *ms = cJSON_AddArrayToObject(root, "models");
    for (int i = 0; i < st->n_models; i++) {
        const softent_corr_model *md = &res->models[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", md->name);
        cJSON_AddStringToObject(o, "alias", md->alias);
        cJSON_AddStringToObject(o, "source", md->source);
        cJSON_AddStringToObject(o, "scores_row", s->rows[st->row_of[i]]);
        cJSON *mv = cJSON_AddObjectToObject(o, "measures");
        for (int m = 0; m < res->n_measures; m++) cli_json_number(mv, res->measures[m], md->values[m]);
        cJSON *sv = cJSON_AddObjectToObject(o, "scores");
        cJSON *nv = cJSON_AddObjectToObject(o, "normalised");
        for (int t = 0; t + 1 < st->n_targets; t++) {
            cli_json_number(sv, st->targets[t], st->target[(size_t)t * (size_t)st->n_models + (size_t)i]);
            cli_json_number(nv, st->targets[t], st->normalised[(size_t)t * (size_t)st->n_models + (size_t)i]);
        }
        cli_json_number(o, "aggregate", st->target[(size_t)(st->n_targets - 1) * (size_t)st->n_models + (size_t)i]);
        cJSON *cov = cJSON_AddObjectToObject(o, "covariates");
        for (int c = 0; c < st->n_covariates; c++) cli_json_number(cov, st->covariates[c], st->cov[(size_t)c * (size_t)st->n_models + (size_t)i]);
        cJSON_AddItemToArray(ms, o);
    }
    cJSON *cs = cJSON_AddArrayToObject(root, "correlations");
    for (int m = 0; m < res->n_measures; m++)
        for (int t = 0; t < st->n_targets; t++) {
            const softent_corr_stat *c = stat_of(st, m, t);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "measure", res->measures[m]);
            cJSON_AddStringToObject(o, "basis", basis(res, m));
            cJSON_AddStringToObject(o, "target", st->targets[t]);
            cJSON_AddNumberToObject(o, "n", (double)c->n);
            cJSON_AddItemToObject(o, "spearman", corr_json(c->spearman, c->spearman_p_t, c->spearman_p_perm, c->spearman_lo, c->spearman_hi));
            cJSON_AddItemToObject(o, "pearson", corr_json(c->pearson, c->pearson_p_t, c->pearson_p_perm, c->pearson_lo, c->pearson_hi));
            cJSON_AddNumberToObject(o, "bootstrap_skipped", (double)(c->boot_skipped_s + c->boot_skipped_p));
            if (st->n_covariates) {
                cJSON *pc = corr_json(c->partial, c->partial_p_t, c->partial_p_perm, c->partial_lo, c->partial_hi);
                cJSON_AddItemToObject(o, "partial_spearman", pc);
                cJSON_AddNumberToObject(pc, "df", (double)(c->n - 2 - st->n_covariates));
                cJSON_AddNumberToObject(pc, "bootstrap_skipped", (double)c->boot_skipped_partial);
            } else cJSON_AddNullToObject(o, "partial_spearman");
            cJSON_AddItemToArray(cs, o);
        }
    return cli_write_json(path, root);
}

/* "complexity_n2" -> ("complexity", "2"); "H" -> ("H", ""). */
static void split_measure(const char *name, char *base, size_t n, const char **order)
{
    snprintf(base, n, "%s", name);
    char *u = strstr(base, "_n");
    *order = "";
    if (u && u[2] && strspn(u + 2, "0123456789") == strlen(u + 2)) {
        *order = name + (u - base) + 2;
        *u = 0;
    }
}

static void csv_value(FILE *f, const char *m, const char *order, const char *t, const char *stat, double v)
{
    if (isfinite(v)) fprintf(f, "%s,%s,\"%s\",%s,%.17g\n", m, order, t, stat, v);
    else fprintf(f, "%s,%s,\"%s\",%s,\n", m, order, t, stat);
}

static int corr_write_csv(const char *path, const softent_corr_results *res, const softent_corr_study *st)
{
    cli_file cf;
    if (cli_file_open(&cf, path)) return 1;
    fprintf(cf.f, "measure,order,benchmark,statistic,value\n");
    for (int m = 0; m < res->n_measures; m++) {
        char base[64];
        const char *order;
        split_measure(res->measures[m], base, sizeof base, &order);
        for (int t = 0; t < st->n_targets; t++) {
            const softent_corr_stat *c = stat_of(st, m, t);
            const char *tn = st->targets[t];
            csv_value(cf.f, base, order, tn, "n", (double)c->n);
            csv_value(cf.f, base, order, tn, "spearman", c->spearman);
            csv_value(cf.f, base, order, tn, "spearman_p_t", c->spearman_p_t);
            csv_value(cf.f, base, order, tn, "spearman_p_perm", c->spearman_p_perm);
            csv_value(cf.f, base, order, tn, "spearman_ci_lo", c->spearman_lo);
            csv_value(cf.f, base, order, tn, "spearman_ci_hi", c->spearman_hi);
            csv_value(cf.f, base, order, tn, "pearson", c->pearson);
            csv_value(cf.f, base, order, tn, "pearson_p_t", c->pearson_p_t);
            csv_value(cf.f, base, order, tn, "pearson_p_perm", c->pearson_p_perm);
            csv_value(cf.f, base, order, tn, "pearson_ci_lo", c->pearson_lo);
            csv_value(cf.f, base, order, tn, "pearson_ci_hi", c->pearson_hi);
            if (st->n_covariates) {
                csv_value(cf.f, base, order, tn, "partial_spearman", c->partial);
                csv_value(cf.f, base, order, tn, "partial_spearman_p_t", c->partial_p_t);
                csv_value(cf.f, base, order, tn, "partial_spearman_p_perm", c->partial_p_perm);
                csv_value(cf.f, base, order, tn, "partial_spearman_ci_lo", c->partial_lo);
                csv_value(cf.f, base, order, tn, "partial_spearman_ci_hi", c->partial_hi);
            }
        }
    }
    return cli_file_commit(&cf, 1);
}

/* gnuplot single-quoted text: a quote doubled. */
static void gp_quote(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; *s && k + 3 < n; s++) {
        if (*s == '\'') out[k++] = '\'';
        out[k++] = *s;
    }
    out[k] = 0;
}

/* The scatter of each measure against the aggregate (fit line, r in the
 * title) and the heat map of Spearman r, measures x targets.  A failure is
 * a warning: the results are written already. */
static int write_figures(const char *dir, const softent_corr_results *res, const softent_corr_study *st)
{
    const int n = st->n_models, agg = st->n_targets - 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/scatter.tsv", dir);
    se_atomic_file a;
    if (se_atomic_open(&a, path)) return -1;
    fprintf(a.f, "# model\taggregate");
    for (int m = 0; m < res->n_measures; m++) fprintf(a.f, "\t%s", res->measures[m]);
    fprintf(a.f, "\n");
    for (int i = 0; i < n; i++) {
        char name[512];
        snprintf(name, sizeof name, "%s", res->models[i].alias);
        for (char *c = name; *c; c++)
            if (*c == '\t' || *c == '"' || *c == '\n') *c = '_';
        fprintf(a.f, "\"%s\"\t%.17g", name, st->target[(size_t)agg * (size_t)n + (size_t)i]);
        for (int m = 0; m < res->n_measures; m++) fprintf(a.f, "\t%.17g", res->models[i].values[m]);
        fprintf(a.f, "\n");
    }
    if (se_atomic_commit(&a)) return -1;
    int rc = 0;
    const size_t size = 1 << 16;
    char *body = malloc(size);
    if (!body) return -1;
    for (int m = 0; m < res->n_measures && rc >= 0; m++) {
        /* least squares of the aggregate on the measure */
        double mx = 0, my = 0, sxx = 0, sxy = 0;
        for (int i = 0; i < n; i++) mx += res->models[i].values[m], my += st->target[(size_t)agg * (size_t)n + (size_t)i];
        mx /= n, my /= n;
        for (int i = 0; i < n; i++) {
            const double dx = res->models[i].values[m] - mx;
            sxx += dx * dx;
            sxy += dx * (st->target[(size_t)agg * (size_t)n + (size_t)i] - my);
        }
        const double slope = sxx > 0 ? sxy / sxx : 0, icpt = my - slope * mx;
        const softent_corr_stat *c = stat_of(st, m, agg);
        snprintf(body, size,
                 "set termoption noenhanced\nset title \"aggregate score vs %s, %s\\nSpearman r = %.3f [%.2f, %.2f], Pearson r = %.3f [%.2f, %.2f], bootstrap intervals, n = %d\"\n"
                 "set xlabel '%s'\nset ylabel 'aggregate score (mean normalised benchmark, 0-100)'\nset key bottom right box opaque\nset grid\nset offsets graph 0.05, graph 0.05, graph 0.08, graph 0.05\n"
                 "f(x) = %.17g * x + %.17g\n"
                 "plot 'scatter.tsv' using %d:2 with points pt 7 ps 1.5 title 'models', \\\n"
                 "     '' using %d:2:1 with labels offset 1,0.7 font ',8' notitle, \\\n"
                 "     f(x) with lines lw 2 title 'least-squares fit'\n",
                 res->measures[m], basis(res, m), c->spearman, c->spearman_lo, c->spearman_hi, c->pearson, c->pearson_lo, c->pearson_hi, n,
                 res->measures[m], slope, icpt, 3 + m, 3 + m);
        char name[128];
        snprintf(name, sizeof name, "scatter_%s", res->measures[m]);
        rc = figures_render(dir, name, body);
    }
    if (rc >= 0) {
        snprintf(path, sizeof path, "%s/heatmap.tsv", dir);
        if (se_atomic_open(&a, path)) rc = -1;
        else {
            fprintf(a.f, "# target_index\tmeasure_index\tspearman_r\n");
            for (int m = 0; m < res->n_measures; m++)
                for (int t = 0; t < st->n_targets; t++) fprintf(a.f, "%d\t%d\t%.17g\n", t, m, stat_of(st, m, t)->spearman);
            if (se_atomic_commit(&a)) rc = -1;
        }
    }
    if (rc >= 0) {
        int k = snprintf(body, size, "set termoption noenhanced\nset title 'Spearman r: measures x benchmarks (aggregate: mean normalised score)'\n"
                                     "set palette defined (-1 'blue', 0 'white', 1 'red')\nset cbrange [-1:1]\n"
                                     "set xrange [-0.5:%d.5]\nset yrange [-0.5:%d.5] reverse\nset xtics rotate by -30 (",
                         st->n_targets - 1, res->n_measures - 1);
        for (int t = 0; t < st->n_targets && k < (int)size - 600; t++) {
            char q[256];
            gp_quote(q, sizeof q, st->targets[t]);
            k += snprintf(body + k, size - (size_t)k, "%s'%s' %d", t ? ", " : "", q, t);
        }
        k += snprintf(body + k, size - (size_t)k, ")\nset ytics (");
        for (int m = 0; m < res->n_measures && k < (int)size - 600; m++)
            k += snprintf(body + k, size - (size_t)k, "%s'%s' %d", m ? ", " : "", res->measures[m], m);
        snprintf(body + k, size - (size_t)k, ")\nunset key\n"
                                             "plot 'heatmap.tsv' using 1:2:3 with image, '' using 1:2:(sprintf('%%.2f', $3)) with labels font ',9'\n");
        rc = figures_render(dir, "heatmap", body);
    }
    free(body);
    return rc;
}

static int parse_layers(const char *s, int *lo, int *hi)
{
    int64_t a, b;
    const char *dash = strchr(s, '-');
    if (!dash) return 0;
    char left[32];
    size_t n = (size_t)(dash - s);
    if (n == 0 || n >= sizeof left) return 0;
    memcpy(left, s, n);
    left[n] = 0;
    if (!parse_i64(left, 0, 100000, &a) || !parse_i64(dash + 1, 0, 100000, &b) || b < a) return 0;
    *lo = (int)a, *hi = (int)b;
    return 1;
}

int cmd_correlate(int argc, char **argv)
{
    enum { O_SCORES = 1000, O_LAYER, O_LAYERS, O_COV, O_BASE, O_PERM, O_BOOT, O_SEED, O_LEVEL, O_OUT, O_NOFIG };
    static const struct option longopts[] = {
        {"scores", required_argument, 0, O_SCORES}, {"layer", required_argument, 0, O_LAYER},
        {"layers", required_argument, 0, O_LAYERS}, {"covariate", required_argument, 0, O_COV},
        {"baseline", required_argument, 0, O_BASE}, {"permutations", required_argument, 0, O_PERM},
        {"bootstrap", required_argument, 0, O_BOOT}, {"seed", required_argument, 0, O_SEED},
        {"level", required_argument, 0, O_LEVEL}, {"out", required_argument, 0, O_OUT},
        {"no-figures", no_argument, 0, O_NOFIG}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *scores = NULL, *out = "correlate";
    const char *covs[MAX_LIST], *base_names[MAX_LIST];
    char base_buf[MAX_LIST][256];
    double base_values[MAX_LIST];
    int n_cov = 0, n_base = 0, lo = -1, hi = -1, figures = 1, layer_given = 0;
    softent_corr_params p = {.permutations = 9999, .bootstrap = 2000, .seed = 0, .level = 0.95};
    int64_t v;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(USAGE, stdout); return 0;
        case O_SCORES: scores = optarg; break;
        case O_OUT: out = optarg; break;
        case O_NOFIG: figures = 0; break;
        case O_LAYER:
            if (layer_given++) return cli_usage_error("correlate", "give one of --layer and --layers, once");
            if (!parse_i64(optarg, 0, 100000, &v)) return cli_usage_error("correlate", "--layer %s: need a layer index >= 0", optarg);
            lo = hi = (int)v;
            break;
        case O_LAYERS:
            if (layer_given++) return cli_usage_error("correlate", "give one of --layer and --layers, once");
            if (!parse_layers(optarg, &lo, &hi)) return cli_usage_error("correlate", "--layers %s: need A-B with 0 <= A <= B", optarg);
            break;
        case O_COV:
            if (n_cov == MAX_LIST) return cli_usage_error("correlate", "at most %d covariates", MAX_LIST);
            covs[n_cov++] = optarg;
            break;
        case O_BASE: {
            const char *eq = strrchr(optarg, '=');
            double b;
            if (n_base == MAX_LIST) return cli_usage_error("correlate", "at most %d baselines", MAX_LIST);
            if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof base_buf[0] || !parse_f64(eq + 1, &b) || !isfinite(b))
                return cli_usage_error("correlate", "--baseline %s: need BENCH=VALUE", optarg);
            memcpy(base_buf[n_base], optarg, (size_t)(eq - optarg));
            base_buf[n_base][eq - optarg] = 0;
            base_names[n_base] = base_buf[n_base];
            base_values[n_base++] = b;
            break;
        }
        case O_PERM:
            if (!parse_i64(optarg, 0, 100000000, &p.permutations)) return cli_usage_error("correlate", "--permutations %s: need 0..1e8", optarg);
            break;
        case O_BOOT:
            if (!parse_i64(optarg, 0, 100000000, &p.bootstrap)) return cli_usage_error("correlate", "--bootstrap %s: need 0..1e8", optarg);
            break;
        case O_SEED:
            if (!parse_i64(optarg, 0, INT64_MAX, &v)) return cli_usage_error("correlate", "--seed %s: need an integer >= 0", optarg);
            p.seed = (uint64_t)v;
            break;
        case O_LEVEL:
            if (!parse_f64(optarg, &p.level) || !(p.level > 0 && p.level < 1))
                return cli_usage_error("correlate", "--level %s: need a number in (0, 1)", optarg);
            break;
        default: return cli_usage_error("correlate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!scores) return cli_usage_error("correlate", "--scores SCORES.csv is required");
    if (optind >= argc) return cli_usage_error("correlate", "give the results (analysis.json or trajectory.json)");
    softent_corr_results res;
    softent_corr_scores s;
    softent_corr_study st;
    int rc = softent_corr_read_results(&res, (const char *const *)argv + optind, argc - optind, lo, hi);
    if (rc) return cli_lib_error(rc);
    if ((rc = softent_corr_read_scores(&s, scores))) {
        softent_corr_results_free(&res);
        return cli_lib_error(rc);
    }
    rc = softent_corr_study_run(&st, &res, &s, covs, n_cov, base_names, base_values, n_base, &p);
    if (rc) {
        softent_corr_results_free(&res);
        softent_corr_scores_free(&s);
        return cli_lib_error(rc);
    }
    int err = 0;
    char *json = se_path_join(out, "correlate.json"), *csv = se_path_join(out, "correlate.csv");
    if (!json || !csv) err = cli_error("out of memory");
    else if (se_make_dirs(out)) err = cli_lib_error(SOFTENT_E_IO);
    else if (corr_write_json(json, argv + optind, argc - optind, &res, &s, &st, &p) || corr_write_csv(csv, &res, &st)) err = 1;
    if (!err) {
        print_table(&res, &st, &p);
        if (figures) {
            int f = write_figures(out, &res, &st);
            if (f > 0) fprintf(stderr, "softent: warning: gnuplot not found: the figures' scripts are in %s, not rendered\n", out);
            else if (f < 0) fprintf(stderr, "softent: warning: %s: a figure could not be written or rendered\n", out);
        }
    }
    free(json);
    free(csv);
    softent_corr_study_free(&st);
    softent_corr_scores_free(&s);
    softent_corr_results_free(&res);
    return err;
}
