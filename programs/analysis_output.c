/*
 * analysis_output.c - an analysis' results as JSON objects, tidy CSV rows
 * and figure data, shared by analyze and trace (see analysis.h).  The
 * numbers come from the library as data; only their formatting is here.
 */
#include <stdio.h>
#include <stdlib.h>

#include "analysis.h"
#include "cli.h"

static void add_null(cJSON *o, const softent_labelset_measures *m)
{
    if (m->null_perms == 0) return;
    cJSON *n = cJSON_AddObjectToObject(o, "null");
    cJSON_AddNumberToObject(n, "I_null_mean", m->mi_null_mean);
    cJSON_AddNumberToObject(n, "I_null_sd", m->mi_null_sd);
    cJSON_AddNumberToObject(n, "I_corrected", m->mi_corrected);
    cJSON_AddNumberToObject(n, "p_value", m->p_value);
}

cJSON *analysis_result_json(const softent_analysis_result *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *layers = cJSON_AddArrayToObject(root, "layers");
    for (int s = 0; s < r->n_layers; s++) {
        const softent_analysis_layer *l = &r->layers[s];
        cJSON *lj = cJSON_CreateObject();
        cJSON_AddNumberToObject(lj, "layer", l->layer);
        cJSON_AddNumberToObject(lj, "H", l->H);
        cJSON_AddNumberToObject(lj, "rows", (double)l->rows);
        cJSON *orders = cJSON_AddArrayToObject(lj, "orders");
        for (int k = 0; k < r->n_orders; k++) {
            cJSON *ok = cJSON_CreateObject();
            cJSON_AddNumberToObject(ok, "n", r->orders[k]);
            cJSON_AddNumberToObject(ok, "I_in", l->in[k].mi);
            cJSON_AddNumberToObject(ok, "I_out", l->out[k].mi);
            cJSON_AddNumberToObject(ok, "optimality", l->optimality[k]);
            cJSON_AddNumberToObject(ok, "H_cond_in", l->in[k].H_cond);
            cJSON_AddNumberToObject(ok, "H_cond_out", l->out[k].H_cond);
            cJSON_AddNumberToObject(ok, "values_in", (double)l->in[k].n_values);
            cJSON_AddNumberToObject(ok, "values_out", (double)l->out[k].n_values);
            add_null(cJSON_AddObjectToObject(ok, "in"), &l->in[k]);
            add_null(cJSON_AddObjectToObject(ok, "out"), &l->out[k]);
            cJSON_AddItemToArray(orders, ok);
        }
        cJSON_AddItemToArray(layers, lj);
    }
    cJSON *lm = cJSON_AddObjectToObject(root, "layer_mean");
    cJSON_AddStringToObject(lm, "over", "selected layers >= 1 (the embedding layer 0 is excluded, as in the reference code)");
    cJSON_AddNumberToObject(lm, "n_layers", r->n_mean);
    cJSON_AddNumberToObject(lm, "H", r->mean_H);
    cJSON *mo = cJSON_AddArrayToObject(lm, "orders");
    for (int k = 0; k < r->n_orders; k++) {
        cJSON *ok = cJSON_CreateObject();
        cJSON_AddNumberToObject(ok, "n", r->orders[k]);
        cJSON_AddNumberToObject(ok, "I_in", r->mean_in[k]);
        cJSON_AddNumberToObject(ok, "I_out", r->mean_out[k]);
        cJSON_AddNumberToObject(ok, "optimality", r->mean_opt[k]);
        cJSON_AddItemToArray(mo, ok);
    }
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
    cJSON_AddNumberToObject(st, "min_count", (double)p->min_count);
    cJSON_AddNumberToObject(st, "null_perms", p->null_perms);
    cJSON_AddNumberToObject(st, "null_seed", (double)p->null_seed);
    cJSON_AddStringToObject(st, "units", "efficiency: entropy / log(m)");
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

void analysis_result_csv(FILE *f, const char *model, const char *checkpoint, const softent_analysis_result *r)
{
    for (int s = 0; s < r->n_layers; s++) {
        const softent_analysis_layer *l = &r->layers[s];
        fprintf(f, "\"%s\",%s,%d,,H,%.17g\n", model, checkpoint, l->layer, l->H);
        for (int k = 0; k < r->n_orders; k++) {
            const int n = r->orders[k];
            fprintf(f, "\"%s\",%s,%d,in%d,I,%.17g\n", model, checkpoint, l->layer, n, l->in[k].mi);
            fprintf(f, "\"%s\",%s,%d,out%d,I,%.17g\n", model, checkpoint, l->layer, n, l->out[k].mi);
            fprintf(f, "\"%s\",%s,%d,n%d,optimality,%.17g\n", model, checkpoint, l->layer, n, l->optimality[k]);
            for (int io = 0; io < 2 && l->in[k].null_perms > 0; io++) {
                const softent_labelset_measures *m = io ? &l->out[k] : &l->in[k];
                fprintf(f, "\"%s\",%s,%d,%s%d,I_corrected,%.17g\n", model, checkpoint, l->layer, io ? "out" : "in", n, m->mi_corrected);
                fprintf(f, "\"%s\",%s,%d,%s%d,p_value,%.17g\n", model, checkpoint, l->layer, io ? "out" : "in", n, m->p_value);
            }
        }
    }
}

int analysis_figure_values(const softent_analysis_result *r, int **layers, double **H, double **values)
{
    *layers = malloc((size_t)r->n_layers * sizeof **layers);
    *H = malloc((size_t)r->n_layers * sizeof **H);
    *values = malloc((size_t)(r->n_layers * r->n_orders * 3) * sizeof **values);
    if (!*layers || !*H || !*values) return cli_error("out of memory");
    for (int s = 0; s < r->n_layers; s++) {
        (*layers)[s] = r->layers[s].layer;
        (*H)[s] = r->layers[s].H;
        for (int k = 0; k < r->n_orders; k++) {
            double *v = *values + ((int64_t)s * r->n_orders + k) * 3;
            v[0] = r->layers[s].in[k].mi, v[1] = r->layers[s].out[k].mi, v[2] = r->layers[s].optimality[k];
        }
    }
    return 0;
}
