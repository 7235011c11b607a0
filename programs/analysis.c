/* analysis.c - corpus, labels and per-layer accumulators (see analysis.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "cli.h"
#include "softent_analysis.h"
#include "softent_corpus.h"

analysis_options analysis_default_options(void)
{
    analysis_options o = {.params = softent_default_params(), .max_length = 512, .layers_spec = "all"};
    o.n_orders = 3;
    for (int k = 0; k < 3; k++) o.orders[k] = k + 1;
    o.n_max = 3;
    return o;
}

void analysis_fit_model(analysis_options *o, const softent_model_config *cfg)
{
    if (!o->max_length_given && cfg->max_positions > 0 && o->max_length > cfg->max_positions) o->max_length = cfg->max_positions;
}

static int parse_orders(analysis_options *o, const char *s)
{
    int orders[SOFTENT_MAX_ARITY], n = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int64_t v;
        if (!parse_i64(tok, 1, SOFTENT_MAX_ARITY, &v) || n == SOFTENT_MAX_ARITY) return 0;
        for (int k = 0; k < n; k++)
            if (orders[k] == v) return 0;
        orders[n++] = (int)v;
    }
    if (n == 0) return 0;
    o->n_orders = n;
    o->n_max = 0;
    for (int k = 0; k < n; k++) {
        o->orders[k] = orders[k];
        o->n_max = orders[k] > o->n_max ? orders[k] : o->n_max;
    }
    return 1;
}

int analysis_option(analysis_options *o, int c, const char *arg, const char *cmd)
{
    switch (c) {
    case OPT_MAXLEN:
        if (!parse_i64(arg, 2, 1 << 24, &o->max_length)) return cli_usage_error(cmd, "--max-length %s: need an integer >= 2", arg);
        o->max_length_given = 1;
        return 0;
    case OPT_MAXDOCS:
        if (!parse_i64(arg, 1, INT64_MAX, &o->max_docs)) return cli_usage_error(cmd, "--max-docs %s: need a positive integer", arg);
        return 0;
    case OPT_MAXTOK:
        if (!parse_i64(arg, 1, INT64_MAX, &o->max_tokens)) return cli_usage_error(cmd, "--max-tokens %s: need a positive integer", arg);
        return 0;
    case OPT_NGRAMS:
        if (!parse_orders(o, arg)) return cli_usage_error(cmd, "--ngrams %s: give distinct orders from 1 to %d, e.g. 1,2,3", arg, SOFTENT_MAX_ARITY);
        return 0;
    case OPT_LAYERS: o->layers_spec = arg; return 0;
    case OPT_FIELD: o->text_field = arg; return 0;
    }
    return is_estimator_option(c) ? estimator_option(&o->params, &o->threads, c, arg, cmd) : cli_usage_error(cmd, "unknown option");
}

int analysis_parse_args(int argc, char **argv, analysis_options *o, const char **out, const char *usage, const char *cmd)
{
    enum { OPT_OUT = ANALYSIS_OPT_LAST };
    static const struct option longopts[] = {
        ANALYSIS_LONGOPTS, {"out", required_argument, 0, OPT_OUT}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    int c, rc;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') { fputs(usage, stdout); return -1; }
        if (c == OPT_OUT) { *out = optarg; continue; }
        if ((c < ANALYSIS_OPT_FIRST || c >= ANALYSIS_OPT_LAST) && !is_estimator_option(c)) return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        if ((rc = analysis_option(o, c, optarg, cmd))) return rc;
    }
    return 0;
}

int analysis_select_layers(const char *spec, int top, int **sel, int *n_sel, const char *cmd)
{
    *sel = calloc((size_t)top + 1, sizeof **sel);
    char *chosen = calloc((size_t)top + 1, 1);
    if (!*sel || !chosen) { free(chosen); return cli_error("out of memory"); }
    int64_t k;
    int rc = 0;
    if (!strcmp(spec, "all")) {
        memset(chosen, 1, (size_t)top + 1);
    } else if (!strncmp(spec, "every:", 6)) {
        if (!parse_i64(spec + 6, 1, top > 0 ? top : 1, &k)) rc = cli_usage_error(cmd, "--layers %s: K must be 1..%d", spec, top);
        for (int l = 0; !rc && l <= top; l += (int)k) chosen[l] = 1;
        chosen[top] = 1;
    } else {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", spec);
        for (char *t = strtok(buf, ","); t && !rc; t = strtok(NULL, ","))
            if (!parse_i64(t, 0, top, &k)) rc = cli_usage_error(cmd, "--layers %s: layers run from 0 (embeddings) to %d", spec, top);
            else chosen[k] = 1;
    }
    *n_sel = 0;
    for (int l = 0; l <= top; l++)
        if (chosen[l]) (*sel)[(*n_sel)++] = l;
    free(chosen);
    return rc;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static int read_documents(analysis_corpus *c, const analysis_options *o, const char *path,
                          softent_tokenizer *tok, int vocab_size)
{
    softent_corpus *in;
    int rc = softent_corpus_open(&in, path, o->text_field);
    if (rc) return cli_lib_error(rc);
    int64_t cap = 0;
    c->hash = 0xcbf29ce484222325ull;
    for (;;) {
        if (o->max_docs && c->docs_read >= o->max_docs) break;
        if (o->max_tokens && c->tokens >= o->max_tokens) break;
        const char *text;
        size_t len;
        if ((rc = softent_corpus_next(in, &text, &len))) { rc = cli_lib_error(rc); break; }
        if (!text) break;
        c->docs_read++;
        int32_t *ids;
        int64_t n;
        if ((rc = softent_tokenizer_encode(tok, text, len, 1, &ids, &n))) { rc = cli_lib_error(rc); break; }
        if (n > o->max_length) n = o->max_length;
        if (softent_ngram_positions(n, o->n_max) == 0) {
            c->docs_short++;
            free(ids);
            continue;
        }
        for (int64_t i = 0; i < n && !rc; i++)
            if (ids[i] < 0 || ids[i] >= vocab_size)
                rc = cli_error("%s: token id %d is outside the model's vocabulary (%d): the tokenizer does not belong to this model",
                               path, ids[i], vocab_size);
        if (!rc && c->n_docs == cap) {
            cap = cap ? cap * 2 : 256;
            analysis_doc *grown = realloc(c->docs, (size_t)cap * sizeof *grown);
            if (!grown) rc = cli_error("out of memory");
            else c->docs = grown;
        }
        if (rc) { free(ids); break; }
        c->docs[c->n_docs++] = (analysis_doc){ids, n};
        c->tokens += n;
        c->positions += softent_ngram_positions(n, o->n_max);
        c->hash = fnv1a(c->hash, ids, (size_t)n * sizeof *ids);
    }
    softent_corpus_close(in);
    if (!rc && c->n_docs == 0)
        rc = cli_error("%s: no document has the %d tokens that %d-grams on both sides of a position need (%lld read, %lld too short)",
                       path, 2 * o->n_max, o->n_max, (long long)c->docs_read, (long long)c->docs_short);
    return rc;
}

static int count_labels(analysis_corpus *c, const analysis_options *o, int64_t d_model)
{
    int rc = softent_acc_new(&c->labels, &o->params, d_model, NULL);
    if (rc) return cli_lib_error(rc);
    int64_t *in = NULL, *out = NULL;
    for (int k = 0; k < o->n_orders && !rc; k++) {
        const int n = o->orders[k];
        char name[2][16];
        int set[2];
        snprintf(name[0], sizeof name[0], "in%d", n);
        snprintf(name[1], sizeof name[1], "out%d", n);
        for (int s = 0; s < 2 && !rc; s++) rc = softent_acc_add_labelset(c->labels, name[s], n, &set[s]);
        for (int64_t i = 0; i < c->n_docs && !rc; i++) {
            const analysis_doc *doc = &c->docs[i];
            int64_t npos = softent_ngram_positions(doc->n, o->n_max);
            int64_t *grown_in = realloc(in, (size_t)(npos * n) * sizeof *in);
            if (grown_in) in = grown_in;
            int64_t *grown_out = realloc(out, (size_t)(npos * n) * sizeof *out);
            if (grown_out) out = grown_out;
            if (!grown_in || !grown_out) { rc = SOFTENT_E_NOMEM; break; }
            softent_ngram_labels(doc->tokens, doc->n, o->n_max, n, in, out);
            if (!(rc = softent_acc_count(c->labels, set[0], in, npos))) rc = softent_acc_count(c->labels, set[1], out, npos);
        }
    }
    free(in);
    free(out);
    if (rc) return rc == SOFTENT_E_NOMEM ? cli_error("out of memory counting labels") : cli_lib_error(rc);
    return 0;
}

int analysis_corpus_read(analysis_corpus *c, const analysis_options *o, const char *path,
                         softent_tokenizer *tok, int vocab_size, int64_t d_model)
{
    memset(c, 0, sizeof *c);
    int rc = read_documents(c, o, path, tok, vocab_size);
    return rc ? rc : count_labels(c, o, d_model);
}

void analysis_corpus_free(analysis_corpus *c)
{
    for (int64_t i = 0; i < c->n_docs; i++) free(c->docs[i].tokens);
    free(c->docs);
    softent_acc_free(c->labels);
    memset(c, 0, sizeof *c);
}

typedef struct {
    const analysis_options *o;
    int *slot_of_layer; /* [n_layers + 1] accumulator index or -1 */
    softent_acc **acc;
    int64_t row0;       /* first row of the document in flight */
} feed;

static int on_hidden(int layer, const float *h, int64_t n, int64_t d, void *user)
{
    feed *f = user;
    int slot = f->slot_of_layer[layer];
    if (slot < 0) return 0;
    const int n_max = f->o->n_max;
    return softent_acc_add(f->acc[slot], h + (int64_t)(n_max - 1) * d, softent_ngram_positions(n, n_max), f->row0);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int forward_all(feed *f, softent_model *model, const analysis_corpus *c, const char *what)
{
    const int progress = isatty(STDERR_FILENO);
    const double t0 = now();
    int64_t done = 0;
    f->row0 = 0;
    for (int64_t i = 0; i < c->n_docs; i++) {
        const analysis_doc *doc = &c->docs[i];
        int rc = softent_model_forward(model, doc->tokens, doc->n, on_hidden, f, NULL);
        if (rc) return cli_lib_error(rc);
        f->row0 += softent_ngram_positions(doc->n, f->o->n_max);
        done += doc->n;
        if (progress) {
            double el = now() - t0, rate = done / (el > 0 ? el : 1e-9);
            fprintf(stderr, "\r%s: %lld/%lld documents, %.0f tokens/s, ETA %.0f s   ", what, (long long)(i + 1),
                    (long long)c->n_docs, rate, (c->tokens - done) / (rate > 0 ? rate : 1));
        }
    }
    if (progress) fputc('\n', stderr);
    return 0;
}

static void collect(const analysis_options *o, softent_acc *const *acc, const int *sel, int n_sel, analysis_result *r)
{
    for (int s = 0; s < n_sel; s++) {
        analysis_layer *l = &r->layers[s];
        softent_summary sum;
        softent_acc_summary(acc[s], &sum);
        l->layer = sel[s];
        l->H = sum.H;
        l->rows = sum.rows;
        r->eps = sum.eps;
        for (int k = 0; k < o->n_orders; k++) {
            char name[16];
            snprintf(name, sizeof name, "in%d", o->orders[k]);
            softent_acc_labelset(acc[s], softent_acc_find_labelset(acc[s], name), &l->in[k]);
            snprintf(name, sizeof name, "out%d", o->orders[k]);
            softent_acc_labelset(acc[s], softent_acc_find_labelset(acc[s], name), &l->out[k]);
            l->in[k].name = l->out[k].name = NULL; /* they die with the accumulators */
            l->optimality[k] = softent_optimality(l->out[k].mi, l->in[k].mi);
        }
        if (l->layer == 0) continue;
        r->n_mean++;
        r->mean_H += l->H;
        for (int k = 0; k < o->n_orders; k++) {
            r->mean_in[k] += l->in[k].mi;
            r->mean_out[k] += l->out[k].mi;
        }
    }
    r->mean_H = r->n_mean ? r->mean_H / r->n_mean : NAN;
    for (int k = 0; k < o->n_orders; k++) {
        r->mean_in[k] = r->n_mean ? r->mean_in[k] / r->n_mean : NAN;
        r->mean_out[k] = r->n_mean ? r->mean_out[k] / r->n_mean : NAN;
        r->mean_opt[k] = softent_optimality(r->mean_out[k], r->mean_in[k]);
    }
}

int analysis_run(const analysis_options *o, softent_model *model, const analysis_corpus *c, const int *sel,
                 int n_sel, analysis_result *out, const char *what)
{
    memset(out, 0, sizeof *out);
    softent_model_config cfg;
    softent_model_get_config(model, &cfg);
    feed f = {o, malloc(((size_t)cfg.n_layers + 1) * sizeof *f.slot_of_layer), calloc((size_t)n_sel, sizeof *f.acc), 0};
    out->layers = calloc((size_t)n_sel, sizeof *out->layers);
    int rc = 0;
    if (!f.slot_of_layer || !f.acc || !out->layers) rc = cli_error("out of memory");
    for (int l = 0; !rc && l <= cfg.n_layers; l++) f.slot_of_layer[l] = -1;
    const float *w = softent_acc_refpoints(c->labels);
    int64_t bytes = 0;
    for (int s = 0; s < n_sel && !rc; s++) {
        f.slot_of_layer[sel[s]] = s;
        int status = softent_acc_new(&f.acc[s], &o->params, cfg.d_model, w);
        if (!status) status = softent_acc_share_labels(f.acc[s], c->labels);
        if (status) rc = cli_lib_error(status);
        else bytes += softent_acc_memory(f.acc[s]);
    }
    if (!rc && o->params.max_memory > 0 && bytes > o->params.max_memory)
        rc = cli_error("the accumulators need about %.0f MB, over --max-memory %.0f MB; lower --null or --ngrams, select fewer --layers, or raise --max-memory",
                       bytes / 1e6, o->params.max_memory / 1e6);
    if (!rc) rc = forward_all(&f, model, c, what);
    for (int s = 0; s < n_sel && !rc; s++) {
        int status = softent_acc_finish(f.acc[s]);
        if (status) rc = cli_lib_error(status);
    }
    if (!rc) {
        out->n_layers = n_sel;
        collect(o, f.acc, sel, n_sel, out);
    }
    for (int s = 0; f.acc && s < n_sel; s++) softent_acc_free(f.acc[s]);
    free(f.acc);
    free(f.slot_of_layer);
    return rc;
}

void analysis_result_free(analysis_result *r)
{
    free(r->layers);
    memset(r, 0, sizeof *r);
}

static void add_null(cJSON *o, const softent_labelset_measures *m)
{
    if (m->null_perms == 0) return;
    cJSON *n = cJSON_AddObjectToObject(o, "null");
    cJSON_AddNumberToObject(n, "I_null_mean", m->mi_null_mean);
    cJSON_AddNumberToObject(n, "I_null_sd", m->mi_null_sd);
    cJSON_AddNumberToObject(n, "I_corrected", m->mi_corrected);
    cJSON_AddNumberToObject(n, "p_value", m->p_value);
}

cJSON *analysis_result_json(const analysis_options *o, const analysis_result *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *layers = cJSON_AddArrayToObject(root, "layers");
    for (int s = 0; s < r->n_layers; s++) {
        const analysis_layer *l = &r->layers[s];
        cJSON *lj = cJSON_CreateObject();
        cJSON_AddNumberToObject(lj, "layer", l->layer);
        cJSON_AddNumberToObject(lj, "H", l->H);
        cJSON_AddNumberToObject(lj, "rows", (double)l->rows);
        cJSON *orders = cJSON_AddArrayToObject(lj, "orders");
        for (int k = 0; k < o->n_orders; k++) {
            cJSON *ok = cJSON_CreateObject();
            cJSON_AddNumberToObject(ok, "n", o->orders[k]);
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
    for (int k = 0; k < o->n_orders; k++) {
        cJSON *ok = cJSON_CreateObject();
        cJSON_AddNumberToObject(ok, "n", o->orders[k]);
        cJSON_AddNumberToObject(ok, "I_in", r->mean_in[k]);
        cJSON_AddNumberToObject(ok, "I_out", r->mean_out[k]);
        cJSON_AddNumberToObject(ok, "optimality", r->mean_opt[k]);
        cJSON_AddItemToArray(mo, ok);
    }
    return root;
}

cJSON *analysis_settings_json(const analysis_options *o, double eps)
{
    const softent_params *p = &o->params;
    cJSON *st = cJSON_CreateObject();
    cJSON_AddNumberToObject(st, "max_length", (double)o->max_length);
    cJSON_AddNumberToObject(st, "max_docs", (double)o->max_docs);
    cJSON_AddNumberToObject(st, "max_tokens", (double)o->max_tokens);
    cJSON *orders = cJSON_AddArrayToObject(st, "ngrams");
    for (int k = 0; k < o->n_orders; k++) cJSON_AddItemToArray(orders, cJSON_CreateNumber(o->orders[k]));
    cJSON_AddStringToObject(st, "positions", "t in [n_max - 1, len - n_max) of each document");
    cJSON_AddStringToObject(st, "layers", o->layers_spec);
    if (o->text_field) cJSON_AddStringToObject(st, "text_field", o->text_field);
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

cJSON *analysis_corpus_json(const analysis_corpus *c, const char *path)
{
    cJSON *o = cJSON_CreateObject();
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)c->hash);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddNumberToObject(o, "documents_read", (double)c->docs_read);
    cJSON_AddNumberToObject(o, "documents_used", (double)c->n_docs);
    cJSON_AddNumberToObject(o, "documents_too_short", (double)c->docs_short);
    cJSON_AddNumberToObject(o, "tokens", (double)c->tokens);
    cJSON_AddNumberToObject(o, "positions", (double)c->positions);
    cJSON_AddStringToObject(o, "token_stream_fnv1a64", hash);
    return o;
}

void analysis_result_csv(FILE *f, const char *model, const char *checkpoint, const analysis_options *o,
                         const analysis_result *r)
{
    for (int s = 0; s < r->n_layers; s++) {
        const analysis_layer *l = &r->layers[s];
        fprintf(f, "\"%s\",%s,%d,,H,%.17g\n", model, checkpoint, l->layer, l->H);
        for (int k = 0; k < o->n_orders; k++) {
            const int n = o->orders[k];
            fprintf(f, "\"%s\",%s,%d,in%d,I,%.17g\n", model, checkpoint, l->layer, n, l->in[k].mi);
            fprintf(f, "\"%s\",%s,%d,out%d,I,%.17g\n", model, checkpoint, l->layer, n, l->out[k].mi);
            fprintf(f, "\"%s\",%s,%d,n%d,optimality,%.17g\n", model, checkpoint, l->layer, n, l->optimality[k]);
            for (int io = 0; io < 2 && o->params.null_perms > 0; io++) {
                const softent_labelset_measures *m = io ? &l->out[k] : &l->in[k];
                fprintf(f, "\"%s\",%s,%d,%s%d,I_corrected,%.17g\n", model, checkpoint, l->layer, io ? "out" : "in", n, m->mi_corrected);
                fprintf(f, "\"%s\",%s,%d,%s%d,p_value,%.17g\n", model, checkpoint, l->layer, io ? "out" : "in", n, m->p_value);
            }
        }
    }
}

int analysis_figure_values(const analysis_options *o, const analysis_result *r, int **layers, double **H, double **values)
{
    *layers = malloc((size_t)r->n_layers * sizeof **layers);
    *H = malloc((size_t)r->n_layers * sizeof **H);
    *values = malloc((size_t)(r->n_layers * o->n_orders * 3) * sizeof **values);
    if (!*layers || !*H || !*values) return cli_error("out of memory");
    for (int s = 0; s < r->n_layers; s++) {
        (*layers)[s] = r->layers[s].layer;
        (*H)[s] = r->layers[s].H;
        for (int k = 0; k < o->n_orders; k++) {
            double *v = *values + ((int64_t)s * o->n_orders + k) * 3;
            v[0] = r->layers[s].in[k].mi, v[1] = r->layers[s].out[k].mi, v[2] = r->layers[s].optimality[k];
        }
    }
    return 0;
}
