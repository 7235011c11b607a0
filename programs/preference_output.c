/*
 * preference_output.c - preference information I(P;Z) as analyze prints and
 * writes it (see analysis.h): the table, the JSON beside the n-gram
 * results, and the tidy CSV rows.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "cli.h"

static double headline(const softent_preference_result *p, int s)
{
    return analysis_headline(&p->pref[s]);
}

/* The JSON object of layer `layer` in root's "layers", or NULL. */
static cJSON *layer_object(cJSON *root, int layer)
{
    cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(root, "layers"))
    {
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(l, "layer");
        if (cJSON_IsNumber(idx) && idx->valueint == layer) return l;
    }
    return NULL;
}

static cJSON *run_json(const softent_analysis_corpus *c, const char *path, const softent_preference_result *p)
{
    softent_preference_info pi;
    softent_preference_get_info(c, &pi);
    cJSON *o = cJSON_CreateObject();
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)pi.token_hash);
    cJSON_AddStringToObject(o, "path", path);
    cJSON *f = cJSON_AddObjectToObject(o, "fields");
    cJSON_AddStringToObject(f, "prompt", pi.prompt_field);
    cJSON_AddStringToObject(f, "chosen", pi.chosen_field);
    cJSON_AddStringToObject(f, "rejected", pi.rejected_field);
    cJSON_AddNumberToObject(o, "records", (double)pi.records);
    cJSON_AddNumberToObject(o, "pairs_used", (double)pi.pairs_used);
    cJSON_AddNumberToObject(o, "pairs_dropped", (double)pi.pairs_dropped);
    cJSON_AddNumberToObject(o, "sequences_truncated", (double)pi.truncated);
    cJSON_AddNumberToObject(o, "tokens", (double)pi.tokens);
    cJSON_AddNumberToObject(o, "positions", (double)pi.positions);
    cJSON_AddStringToObject(o, "token_stream_fnv1a64", hash);
    cJSON_AddStringToObject(o, "labelled", softent_pref_positions_name(pi.rule));
    cJSON_AddStringToObject(o, "labels", "1 chosen, 0 rejected");
    cJSON_AddStringToObject(o, "null_units", "whole responses, swapped within their pair (chosen and rejected exchanged at random)");
    cJSON_AddStringToObject(o, "bootstrap_units", "pairs");
    cJSON *layers = cJSON_AddArrayToObject(o, "layers");
    for (int s = 0; s < p->n_layers; s++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddNumberToObject(l, "layer", p->layers[s]);
        analysis_labelset_json(l, &p->pref[s]);
        cJSON_AddItemToArray(layers, l);
    }
    return o;
}

void preference_json(cJSON *root, const softent_analysis_corpus *c, const char *path, const softent_preference_result *p)
{
    for (int s = 0; s < p->n_layers; s++) {
        cJSON *l = layer_object(root, p->layers[s]);
        if (l) cli_json_number(l, "preference", headline(p, s));
    }
    cJSON *lm = cJSON_GetObjectItemCaseSensitive(root, "layer_mean");
    if (lm) {
        const int corrected = p->n_layers > 0 && p->pref[0].correction != SOFTENT_CORRECT_NONE;
        cli_json_number(lm, "preference", corrected ? p->mean_corrected : p->mean);
        cli_json_number(lm, "preference_plugin", p->mean);
        if (p->bootstrap > 0) cli_json_interval(lm, "preference_interval", p->mean_corrected_lo, p->mean_corrected_hi);
        cli_json_number(lm, "preference_null_sd", p->mean_null_sd);
    }
    cJSON_AddItemToObject(root, "preference", run_json(c, path, p));
}

void preference_csv(FILE *f, const char *model, const softent_preference_result *p)
{
    for (int s = 0; s < p->n_layers; s++) {
        char layer[16];
        snprintf(layer, sizeof layer, "%d", p->layers[s]);
        analysis_labelset_csv(f, model, "", layer, "preference", 0, &p->pref[s]);
    }
    const double v[] = {p->mean, p->mean_corrected, p->mean_corrected_lo, p->mean_corrected_hi};
    static const char *const names[] = {"I", "I_corrected", "I_corrected_lo", "I_corrected_hi"};
    for (int k = 0; k < 4; k++) {
        fprintf(f, "\"%s\",,mean,preference,%s,", model, names[k]);
        if (isfinite(v[k])) fprintf(f, "%.17g", v[k]);
        fputc('\n', f);
    }
}

static void cell(FILE *f, const char *fmt, double v)
{
    if (isfinite(v)) fprintf(f, fmt, v);
    else fprintf(f, "%10s", "-");
}

void preference_table(FILE *f, const softent_analysis_corpus *c, const softent_preference_result *p)
{
    softent_preference_info pi;
    softent_preference_get_info(c, &pi);
    const int null = p->n_layers > 0 && p->pref[0].null_perms > 0;
    fprintf(f, "\npreference information I(P;Z): %lld pairs (%lld dropped, %lld sequences truncated), %lld %s positions labelled 1 chosen / 0 rejected\n",
            (long long)pi.pairs_used, (long long)pi.pairs_dropped, (long long)pi.truncated, (long long)pi.positions,
            softent_pref_positions_name(pi.rule));
    const int corrected = p->n_layers > 0 && p->pref[0].correction != SOFTENT_CORRECT_NONE;
    fprintf(f, "%6s %10s %23s %10s %10s %8s\n", "layer", corrected ? "corrected" : "plug-in", p->bootstrap ? "interval" : "",
            corrected ? "plug-in" : "", null ? "null mean" : "", null ? "p" : "");
    for (int s = 0; s <= p->n_layers; s++) {
        const int mean = s == p->n_layers;
        if (mean) fprintf(f, "%6s", "mean");
        else fprintf(f, "%6d", p->layers[s]);
        cell(f, " %10.6f", mean ? (p->pref[0].correction != SOFTENT_CORRECT_NONE ? p->mean_corrected : p->mean) : headline(p, s));
        if (p->bootstrap) {
            const double lo = mean ? p->mean_corrected_lo : p->pref[s].mi_corrected_lo, hi = mean ? p->mean_corrected_hi : p->pref[s].mi_corrected_hi;
            if (isfinite(lo)) fprintf(f, " [%9.6f, %9.6f]", lo, hi);
            else fprintf(f, " %23s", "-");
        } else fprintf(f, " %23s", "");
        if (corrected) cell(f, " %10.6f", mean ? p->mean : p->pref[s].mi);
        else fprintf(f, " %10s", "");
        if (null && !mean) {
            cell(f, " %10.6f", p->pref[s].mi_null_mean);
            fprintf(f, " %8.3g", p->pref[s].p_value);
        }
        fputc('\n', f);
    }
    fprintf(f, "(I(P;Z) is %s; mean over the %d selected layers >= 1", analysis_correction_label(p->n_layers ? p->pref[0].correction : SOFTENT_CORRECT_NONE),
            p->n_mean);
    if (p->bootstrap) fprintf(f, "; %.0f%% intervals over %d bootstrap replicates of the pairs", 100 * p->level, p->bootstrap);
    if (null) fprintf(f, "; the null swaps chosen and rejected within pairs, %d permutations", p->pref[0].null_perms);
    fprintf(f, ")\n");
}
