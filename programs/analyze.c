/*
 * analyze.c - `softent analyze MODEL_DIR CORPUS`: per-layer H(Z), complexity
 * I(input n-gram; Z), expressivity I(output n-gram; Z) and optimality of a
 * Hugging Face model's hidden states over a text corpus (SPEC section 4).
 *
 * Two passes over the corpus: the first tokenizes every document and counts
 * the n-gram labels of every position (labels must be counted before any
 * row, see softent.h); the second runs the forward pass document by
 * document and hands each selected layer's hidden states to that layer's
 * accumulator.  No hidden state outlives its callback.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "figures.h"
#include "softent_corpus.h"
#include "softent_model.h"
#include "softent_text.h"

static const char USAGE[] =
    "usage: softent analyze MODEL_DIR CORPUS [options]\n"
    "\n"
    "Per-layer soft entropy H(Z), complexity I(input n-gram; Z), expressivity\n"
    "I(output n-gram; Z) and optimality I(out)/I(in) of a Hugging Face model's\n"
    "hidden states over a corpus.  MODEL_DIR holds config.json, model.safetensors\n"
    "(or a sharded index) and tokenizer.json.  CORPUS is a .txt (a document a\n"
    "line), a .jsonl, a directory of .txt files, or - for stdin.\n"
    "\n"
    "  --max-length N       tokens per document, after BOS/EOS (default 512)\n"
    "  --max-docs N         documents to read (default: all)\n"
    "  --max-tokens N       stop once this many tokens are read (default: all)\n"
    "  --ngrams LIST        n-gram orders, 1..4 (default 1,2,3)\n"
    "  --layers SPEC        all (default), a list 0,6,12, or every:K\n"
    "  --text-field NAME    the .jsonl text field (default: detected)\n"
    "  --out DIR            where results and figures go (default analysis)\n"
    "  --bins M, --seed S, --calibration MODE, --weighting W, --min-count K,\n"
    "  --null R, --null-seed S   as for softent estimate\n"
    "  --threads N          threads (default: all cores)\n"
    "  --max-memory MB      refuse a run whose accumulators would need more\n"
    "  -h, --help           this help\n";

typedef struct {
    softent_params params;
    const char *model_dir, *corpus, *text_field, *out, *layers_spec;
    int64_t max_length, max_docs, max_tokens;
    int orders[SOFTENT_MAX_ARITY], n_orders, n_max, threads;
} options;

typedef struct {
    int32_t *tokens; /* [n] after truncation */
    int64_t n;
} document;

typedef struct {
    options *o;
    softent_model *model;
    softent_tokenizer *tok;
    softent_model_config cfg;
    int n_sel, *sel;        /* selected layers, ascending */
    int *slot_of_layer;     /* [n_layers + 1] accumulator index or -1 */
    softent_acc **acc;      /* [n_sel] */
    document *docs;
    int64_t n_docs, docs_read, docs_short, tokens, positions;
    uint64_t corpus_hash;   /* FNV-1a of the token stream analysed */
    int64_t row0;           /* first row of the document in flight */
} run;

enum { OPT_MAXLEN = 256, OPT_MAXDOCS, OPT_MAXTOK, OPT_NGRAMS, OPT_LAYERS, OPT_FIELD, OPT_OUT, OPT_BINS,
       OPT_SEED, OPT_CAL, OPT_WEIGHT, OPT_MINCOUNT, OPT_NULL, OPT_NULLSEED, OPT_THREADS, OPT_MAXMEM };

static int parse_orders(options *o, const char *s)
{
    o->n_orders = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int64_t n;
        if (!parse_i64(tok, 1, SOFTENT_MAX_ARITY, &n) || o->n_orders == SOFTENT_MAX_ARITY) return 0;
        for (int k = 0; k < o->n_orders; k++)
            if (o->orders[k] == n) return 0;
        o->orders[o->n_orders++] = (int)n;
    }
    o->n_max = 0;
    for (int k = 0; k < o->n_orders; k++) o->n_max = o->orders[k] > o->n_max ? o->orders[k] : o->n_max;
    return o->n_orders > 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"max-length", required_argument, 0, OPT_MAXLEN}, {"max-docs", required_argument, 0, OPT_MAXDOCS},
        {"max-tokens", required_argument, 0, OPT_MAXTOK}, {"ngrams", required_argument, 0, OPT_NGRAMS},
        {"layers", required_argument, 0, OPT_LAYERS}, {"text-field", required_argument, 0, OPT_FIELD},
        {"out", required_argument, 0, OPT_OUT}, {"bins", required_argument, 0, OPT_BINS},
        {"seed", required_argument, 0, OPT_SEED}, {"calibration", required_argument, 0, OPT_CAL},
        {"weighting", required_argument, 0, OPT_WEIGHT}, {"min-count", required_argument, 0, OPT_MINCOUNT},
        {"null", required_argument, 0, OPT_NULL}, {"null-seed", required_argument, 0, OPT_NULLSEED},
        {"threads", required_argument, 0, OPT_THREADS}, {"max-memory", required_argument, 0, OPT_MAXMEM},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    int64_t v;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(USAGE, stdout); exit(0);
        case OPT_MAXLEN:
            if (!parse_i64(optarg, 2, 1 << 24, &o->max_length)) return cli_usage_error("analyze", "--max-length %s: need an integer >= 2", optarg);
            break;
        case OPT_MAXDOCS:
            if (!parse_i64(optarg, 1, INT64_MAX, &o->max_docs)) return cli_usage_error("analyze", "--max-docs %s: need a positive integer", optarg);
            break;
        case OPT_MAXTOK:
            if (!parse_i64(optarg, 1, INT64_MAX, &o->max_tokens)) return cli_usage_error("analyze", "--max-tokens %s: need a positive integer", optarg);
            break;
        case OPT_NGRAMS:
            if (!parse_orders(o, optarg)) return cli_usage_error("analyze", "--ngrams %s: give distinct orders from 1 to %d, e.g. 1,2,3", optarg, SOFTENT_MAX_ARITY);
            break;
        case OPT_LAYERS: o->layers_spec = optarg; break;
        case OPT_FIELD: o->text_field = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_BINS:
            if (!parse_i64(optarg, 2, 1000000, &o->params.m)) return cli_usage_error("analyze", "--bins %s: need an integer m in 2..1000000", optarg);
            break;
        case OPT_SEED:
            if (!parse_i64(optarg, 0, INT64_MAX, &v)) return cli_usage_error("analyze", "--seed %s: need a non-negative integer", optarg);
            o->params.seed = (uint64_t)v;
            break;
        case OPT_CAL:
            if (softent_calibration_parse(optarg, &o->params.calibration, &o->params.eps))
                return cli_usage_error("analyze", "--calibration %s: use exact, bound, leading or a positive number", optarg);
            break;
        case OPT_WEIGHT:
            if (!strcmp(optarg, "prob")) o->params.weighting = SOFTENT_WEIGHT_PROB;
            else if (!strcmp(optarg, "uniform")) o->params.weighting = SOFTENT_WEIGHT_UNIFORM;
            else return cli_usage_error("analyze", "--weighting %s: use prob or uniform", optarg);
            break;
        case OPT_MINCOUNT:
            if (!parse_i64(optarg, 1, INT64_MAX, &o->params.min_count)) return cli_usage_error("analyze", "--min-count %s: need an integer >= 1", optarg);
            break;
        case OPT_NULL:
            if (!parse_i64(optarg, 0, 100000, &v)) return cli_usage_error("analyze", "--null %s: need R in 0..100000", optarg);
            o->params.null_perms = (int)v;
            break;
        case OPT_NULLSEED:
            if (!parse_i64(optarg, 0, INT64_MAX, &v)) return cli_usage_error("analyze", "--null-seed %s: need a non-negative integer", optarg);
            o->params.null_seed = (uint64_t)v;
            break;
        case OPT_THREADS:
            if (!parse_i64(optarg, 1, 4096, &v)) return cli_usage_error("analyze", "--threads %s: need a positive integer", optarg);
            o->threads = (int)v;
            break;
        case OPT_MAXMEM:
            if (!parse_i64(optarg, 1, INT64_MAX / (1 << 20), &v)) return cli_usage_error("analyze", "--max-memory %s: need megabytes", optarg);
            o->params.max_memory = v << 20;
            break;
        default: return cli_usage_error("analyze", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2) return cli_usage_error("analyze", "give MODEL_DIR and CORPUS");
    o->model_dir = argv[optind];
    o->corpus = argv[optind + 1];
    return 0;
}

/* --layers: all, every:K (0, K, 2K, ... and always the last), or a list. */
static int select_layers(run *r)
{
    const int top = r->cfg.n_layers;
    const char *spec = r->o->layers_spec;
    r->sel = calloc((size_t)top + 1, sizeof *r->sel);
    r->slot_of_layer = malloc(((size_t)top + 1) * sizeof *r->slot_of_layer);
    if (!r->sel || !r->slot_of_layer) return cli_error("out of memory");
    char *chosen = calloc((size_t)top + 1, 1);
    if (!chosen) return cli_error("out of memory");
    int64_t k;
    int rc = 0;
    if (!strcmp(spec, "all")) {
        memset(chosen, 1, (size_t)top + 1);
    } else if (!strncmp(spec, "every:", 6)) {
        if (!parse_i64(spec + 6, 1, top > 0 ? top : 1, &k)) rc = cli_usage_error("analyze", "--layers %s: K must be 1..%d", spec, top);
        for (int l = 0; !rc && l <= top; l += (int)k) chosen[l] = 1;
        chosen[top] = 1;
    } else {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", spec);
        for (char *t = strtok(buf, ","); t && !rc; t = strtok(NULL, ","))
            if (!parse_i64(t, 0, top, &k)) rc = cli_usage_error("analyze", "--layers %s: layers run from 0 (embeddings) to %d", spec, top);
            else chosen[k] = 1;
    }
    for (int l = 0; l <= top; l++) {
        r->slot_of_layer[l] = chosen[l] ? r->n_sel : -1;
        if (chosen[l]) r->sel[r->n_sel++] = l;
    }
    free(chosen);
    return rc;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Pass 1: tokenize, truncate, keep documents with at least one position. */
static int read_corpus(run *r)
{
    const options *o = r->o;
    softent_corpus *c;
    int rc = softent_corpus_open(&c, o->corpus, o->text_field);
    if (rc) return cli_lib_error(rc);
    int64_t cap = 0;
    r->corpus_hash = 0xcbf29ce484222325ull;
    for (;;) {
        if (o->max_docs && r->docs_read >= o->max_docs) break;
        if (o->max_tokens && r->tokens >= o->max_tokens) break;
        const char *text;
        size_t len;
        if ((rc = softent_corpus_next(c, &text, &len))) { rc = cli_lib_error(rc); break; }
        if (!text) break;
        r->docs_read++;
        int32_t *ids;
        int64_t n;
        if ((rc = softent_tokenizer_encode(r->tok, text, len, 1, &ids, &n))) { rc = cli_lib_error(rc); break; }
        if (n > o->max_length) n = o->max_length;
        if (softent_ngram_positions(n, o->n_max) == 0) {
            r->docs_short++;
            free(ids);
            continue;
        }
        for (int64_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= r->cfg.vocab_size) {
                rc = cli_error("%s: token id %d is outside the model's vocabulary (%d); the tokenizer does not belong to this model",
                               o->model_dir, ids[i], r->cfg.vocab_size);
                break;
            }
        if (rc) { free(ids); break; }
        if (r->n_docs == cap) {
            cap = cap ? cap * 2 : 256;
            document *grown = realloc(r->docs, (size_t)cap * sizeof *grown);
            if (!grown) { free(ids); rc = cli_error("out of memory"); break; }
            r->docs = grown;
        }
        r->docs[r->n_docs++] = (document){ids, n};
        r->tokens += n;
        r->positions += softent_ngram_positions(n, o->n_max);
        r->corpus_hash = fnv1a(r->corpus_hash, ids, (size_t)n * sizeof *ids);
    }
    softent_corpus_close(c);
    if (!rc && r->n_docs == 0)
        rc = cli_error("%s: no document has the %d tokens that %d-grams on both sides of a position need (%lld read, %lld too short)",
                       o->corpus, 2 * o->n_max, o->n_max, (long long)r->docs_read, (long long)r->docs_short);
    return rc;
}

/* The first accumulator counts the labels; the others share its counts. */
static int make_accumulators(run *r)
{
    const options *o = r->o;
    r->acc = calloc((size_t)r->n_sel, sizeof *r->acc);
    if (!r->acc) return cli_error("out of memory");
    int rc = softent_acc_new(&r->acc[0], &o->params, r->cfg.d_model, NULL);
    if (rc) return cli_lib_error(rc);
    int64_t *in = NULL, *out = NULL;
    for (int k = 0; k < o->n_orders && !rc; k++) {
        char name[2][16];
        int set[2];
        snprintf(name[0], sizeof name[0], "in%d", o->orders[k]);
        snprintf(name[1], sizeof name[1], "out%d", o->orders[k]);
        for (int s = 0; s < 2 && !rc; s++) rc = softent_acc_add_labelset(r->acc[0], name[s], o->orders[k], &set[s]);
        for (int64_t i = 0; i < r->n_docs && !rc; i++) {
            const document *doc = &r->docs[i];
            int64_t npos = softent_ngram_positions(doc->n, o->n_max);
            int64_t *grown_in = realloc(in, (size_t)(npos * o->orders[k]) * sizeof *in);
            if (grown_in) in = grown_in;
            int64_t *grown_out = realloc(out, (size_t)(npos * o->orders[k]) * sizeof *out);
            if (grown_out) out = grown_out;
            if (!grown_in || !grown_out) { rc = SOFTENT_E_NOMEM; break; }
            softent_ngram_labels(doc->tokens, doc->n, o->n_max, o->orders[k], in, out);
            if (!(rc = softent_acc_count(r->acc[0], set[0], in, npos))) rc = softent_acc_count(r->acc[0], set[1], out, npos);
        }
    }
    free(in);
    free(out);
    if (rc) return rc == SOFTENT_E_NOMEM ? cli_error("out of memory counting labels") : cli_lib_error(rc);
    for (int s = 1; s < r->n_sel; s++) {
        if ((rc = softent_acc_new(&r->acc[s], &o->params, r->cfg.d_model, softent_acc_refpoints(r->acc[0]))) ||
            (rc = softent_acc_share_labels(r->acc[s], r->acc[0])))
            return cli_lib_error(rc);
    }
    int64_t bytes = 0;
    for (int s = 0; s < r->n_sel; s++) bytes += softent_acc_memory(r->acc[s]);
    if (o->params.max_memory > 0 && bytes > o->params.max_memory)
        return cli_error("the accumulators need about %.0f MB, over --max-memory %.0f MB; lower --null or --ngrams, select fewer --layers, or raise --max-memory",
                         bytes / 1e6, o->params.max_memory / 1e6);
    if (isatty(STDERR_FILENO) || bytes > (512 << 20))
        fprintf(stderr, "softent: %lld documents, %lld tokens, %lld positions; accumulators hold about %.0f MB\n",
                (long long)r->n_docs, (long long)r->tokens, (long long)r->positions, bytes / 1e6);
    return 0;
}

static int on_hidden(int layer, const float *h, int64_t n, int64_t d, void *user)
{
    run *r = user;
    int slot = r->slot_of_layer[layer];
    if (slot < 0) return 0;
    const int n_max = r->o->n_max;
    int rc = softent_acc_add(r->acc[slot], h + (int64_t)(n_max - 1) * d, softent_ngram_positions(n, n_max), r->row0);
    return rc ? rc : 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Pass 2: the forward pass over every document. */
static int forward_all(run *r)
{
    const int progress = isatty(STDERR_FILENO);
    const double t0 = now();
    int64_t done_tokens = 0;
    r->row0 = 0;
    for (int64_t i = 0; i < r->n_docs; i++) {
        const document *doc = &r->docs[i];
        int rc = softent_model_forward(r->model, doc->tokens, doc->n, on_hidden, r, NULL);
        if (rc) return cli_lib_error(rc);
        r->row0 += softent_ngram_positions(doc->n, r->o->n_max);
        done_tokens += doc->n;
        if (progress) {
            double el = now() - t0, rate = done_tokens / (el > 0 ? el : 1e-9);
            fprintf(stderr, "\r%lld/%lld documents, %.0f tokens/s, ETA %.0f s   ", (long long)(i + 1), (long long)r->n_docs,
                    rate, (r->tokens - done_tokens) / (rate > 0 ? rate : 1));
        }
    }
    if (progress) fputc('\n', stderr);
    for (int s = 0; s < r->n_sel; s++) {
        int rc = softent_acc_finish(r->acc[s]);
        if (rc) return cli_lib_error(rc);
    }
    return 0;
}

/* measures of (layer slot s, order k): [0] in, [1] out */
static void order_measures(const run *r, int s, int k, softent_labelset_measures m[2])
{
    char name[16];
    snprintf(name, sizeof name, "in%d", r->o->orders[k]);
    softent_acc_labelset(r->acc[s], softent_acc_find_labelset(r->acc[s], name), &m[0]);
    snprintf(name, sizeof name, "out%d", r->o->orders[k]);
    softent_acc_labelset(r->acc[s], softent_acc_find_labelset(r->acc[s], name), &m[1]);
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

/* Per layer and per order: H, I_in, I_out, optimality; then the means over
 * layers >= 1 (the embedding layer is left out, as in the reference). */
static cJSON *results_json(const run *r, double *H, double *values, int *n_mean)
{
    const options *o = r->o;
    cJSON *layers = cJSON_CreateArray();
    double mean_H = 0, mean[SOFTENT_MAX_ARITY][3] = {{0}};
    *n_mean = 0;
    for (int s = 0; s < r->n_sel; s++) {
        softent_summary sum;
        softent_acc_summary(r->acc[s], &sum);
        cJSON *l = cJSON_CreateObject();
        cJSON_AddNumberToObject(l, "layer", r->sel[s]);
        cJSON_AddNumberToObject(l, "H", sum.H);
        cJSON_AddNumberToObject(l, "rows", (double)sum.rows);
        cJSON *orders = cJSON_AddArrayToObject(l, "orders");
        H[s] = sum.H;
        if (r->sel[s] > 0) { mean_H += sum.H; (*n_mean)++; }
        for (int k = 0; k < o->n_orders; k++) {
            softent_labelset_measures m[2];
            order_measures(r, s, k, m);
            double opt = softent_optimality(m[1].mi, m[0].mi);
            double *v = values + ((int64_t)s * o->n_orders + k) * 3;
            v[0] = m[0].mi, v[1] = m[1].mi, v[2] = opt;
            if (r->sel[s] > 0) { mean[k][0] += m[0].mi; mean[k][1] += m[1].mi; }
            cJSON *ok = cJSON_CreateObject();
            cJSON_AddNumberToObject(ok, "n", o->orders[k]);
            cJSON_AddNumberToObject(ok, "I_in", m[0].mi);
            cJSON_AddNumberToObject(ok, "I_out", m[1].mi);
            cJSON_AddNumberToObject(ok, "optimality", opt);
            cJSON_AddNumberToObject(ok, "H_cond_in", m[0].H_cond);
            cJSON_AddNumberToObject(ok, "H_cond_out", m[1].H_cond);
            cJSON_AddNumberToObject(ok, "values_in", (double)m[0].n_values);
            cJSON_AddNumberToObject(ok, "values_out", (double)m[1].n_values);
            cJSON *null_in = cJSON_AddObjectToObject(ok, "in");
            add_null(null_in, &m[0]);
            cJSON *null_out = cJSON_AddObjectToObject(ok, "out");
            add_null(null_out, &m[1]);
            cJSON_AddItemToArray(orders, ok);
        }
        cJSON_AddItemToArray(layers, l);
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "layers", layers);
    cJSON *lm = cJSON_AddObjectToObject(root, "layer_mean");
    cJSON_AddStringToObject(lm, "over", "selected layers >= 1 (the embedding layer 0 is excluded, as in the reference code)");
    cJSON_AddNumberToObject(lm, "n_layers", *n_mean);
    cJSON_AddNumberToObject(lm, "H", *n_mean ? mean_H / *n_mean : NAN);
    cJSON *mo = cJSON_AddArrayToObject(lm, "orders");
    for (int k = 0; k < o->n_orders; k++) {
        cJSON *ok = cJSON_CreateObject();
        double in = *n_mean ? mean[k][0] / *n_mean : NAN, out = *n_mean ? mean[k][1] / *n_mean : NAN;
        cJSON_AddNumberToObject(ok, "n", o->orders[k]);
        cJSON_AddNumberToObject(ok, "I_in", in);
        cJSON_AddNumberToObject(ok, "I_out", out);
        cJSON_AddNumberToObject(ok, "optimality", softent_optimality(out, in));
        cJSON_AddItemToArray(mo, ok);
    }
    return root;
}

static cJSON *identity_json(const run *r)
{
    const options *o = r->o;
    softent_params p;
    softent_acc_params(r->acc[0], &p);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "softent_version", SOFTENT_VERSION);
    cJSON_AddStringToObject(root, "command", "analyze");
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "path", o->model_dir);
    cJSON_AddStringToObject(model, "arch", r->cfg.arch);
    cJSON_AddNumberToObject(model, "n_layers", r->cfg.n_layers);
    cJSON_AddNumberToObject(model, "d_model", r->cfg.d_model);
    cJSON_AddNumberToObject(model, "n_heads", r->cfg.n_heads);
    cJSON_AddNumberToObject(model, "vocab_size", r->cfg.vocab_size);
    cJSON *corpus = cJSON_AddObjectToObject(root, "corpus");
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)r->corpus_hash);
    cJSON_AddStringToObject(corpus, "path", o->corpus);
    cJSON_AddNumberToObject(corpus, "documents_read", (double)r->docs_read);
    cJSON_AddNumberToObject(corpus, "documents_used", (double)r->n_docs);
    cJSON_AddNumberToObject(corpus, "documents_too_short", (double)r->docs_short);
    cJSON_AddNumberToObject(corpus, "tokens", (double)r->tokens);
    cJSON_AddNumberToObject(corpus, "positions", (double)r->positions);
    cJSON_AddStringToObject(corpus, "token_stream_fnv1a64", hash);
    cJSON *st = cJSON_AddObjectToObject(root, "settings");
    cJSON_AddNumberToObject(st, "max_length", (double)o->max_length);
    cJSON_AddNumberToObject(st, "max_docs", (double)o->max_docs);
    cJSON_AddNumberToObject(st, "max_tokens", (double)o->max_tokens);
    cJSON *orders = cJSON_AddArrayToObject(st, "ngrams");
    for (int k = 0; k < o->n_orders; k++) cJSON_AddItemToArray(orders, cJSON_CreateNumber(o->orders[k]));
    cJSON_AddStringToObject(st, "positions", "t in [n_max - 1, len - n_max) of each document");
    cJSON_AddStringToObject(st, "layers", o->layers_spec);
    if (o->text_field) cJSON_AddStringToObject(st, "text_field", o->text_field);
    cJSON_AddNumberToObject(st, "m", (double)p.m);
    cJSON_AddNumberToObject(st, "seed", (double)p.seed);
    cJSON_AddStringToObject(st, "calibration", softent_calibration_name(p.calibration));
    cJSON_AddNumberToObject(st, "eps", p.eps);
    cJSON_AddStringToObject(st, "weighting", p.weighting == SOFTENT_WEIGHT_UNIFORM ? "uniform" : "prob");
    cJSON_AddNumberToObject(st, "min_count", (double)p.min_count);
    cJSON_AddNumberToObject(st, "null_perms", p.null_perms);
    cJSON_AddNumberToObject(st, "null_seed", (double)p.null_seed);
    cJSON_AddStringToObject(st, "units", "efficiency: entropy / log(m)");
    return root;
}

static int write_outputs(const run *r)
{
    const options *o = r->o;
    if (mkdir(o->out, 0777) != 0 && errno != EEXIST) return cli_error("%s: cannot create the output directory: %s", o->out, strerror(errno));
    double *H = calloc((size_t)r->n_sel, sizeof *H);
    double *values = calloc((size_t)(r->n_sel * o->n_orders * 3), sizeof *values);
    if (!H || !values) { free(H); free(values); return cli_error("out of memory"); }
    int n_mean;
    cJSON *root = identity_json(r), *res = results_json(r, H, values, &n_mean);
    cJSON_AddItemToObject(root, "layers", cJSON_DetachItemFromObject(res, "layers"));
    cJSON_AddItemToObject(root, "layer_mean", cJSON_DetachItemFromObject(res, "layer_mean"));
    cJSON_Delete(res);

    char path[4096];
    int rc = 0;
    char *text = cJSON_Print(root);
    snprintf(path, sizeof path, "%s/analysis.json", o->out);
    FILE *f = fopen(path, "w");
    if (!f || !text || fputs(text, f) < 0 || fputc('\n', f) == EOF) rc = cli_error("%s: cannot write", path);
    if (f && fclose(f) != 0 && !rc) rc = cli_error("%s: write failed", path);
    free(text);

    /* tidy CSV: model,checkpoint,layer,label_set,measure,value */
    snprintf(path, sizeof path, "%s/analysis.csv", o->out);
    if (!rc && !(f = fopen(path, "w"))) rc = cli_error("%s: cannot write", path);
    if (!rc) {
        fprintf(f, "model,checkpoint,layer,label_set,measure,value\n");
        for (int s = 0; s < r->n_sel; s++) {
            fprintf(f, "\"%s\",,%d,,H,%.17g\n", o->model_dir, r->sel[s], H[s]);
            for (int k = 0; k < o->n_orders; k++) {
                const double *v = values + ((int64_t)s * o->n_orders + k) * 3;
                fprintf(f, "\"%s\",,%d,in%d,I,%.17g\n", o->model_dir, r->sel[s], o->orders[k], v[0]);
                fprintf(f, "\"%s\",,%d,out%d,I,%.17g\n", o->model_dir, r->sel[s], o->orders[k], v[1]);
                fprintf(f, "\"%s\",,%d,n%d,optimality,%.17g\n", o->model_dir, r->sel[s], o->orders[k], v[2]);
                if (o->params.null_perms > 0) {
                    softent_labelset_measures m[2];
                    order_measures(r, s, k, m);
                    for (int io = 0; io < 2; io++) {
                        fprintf(f, "\"%s\",,%d,%s%d,I_corrected,%.17g\n", o->model_dir, r->sel[s], io ? "out" : "in", o->orders[k], m[io].mi_corrected);
                        fprintf(f, "\"%s\",,%d,%s%d,p_value,%.17g\n", o->model_dir, r->sel[s], io ? "out" : "in", o->orders[k], m[io].p_value);
                    }
                }
            }
        }
        if (fclose(f) != 0) rc = cli_error("%s: write failed", path);
    }

    /* the summary table */
    if (!rc) {
        printf("softent %s analyze: %s (%s, %d layers, d = %d) on %s\n", SOFTENT_VERSION, o->model_dir, r->cfg.arch,
               r->cfg.n_layers, r->cfg.d_model, o->corpus);
        printf("%lld documents (%lld too short), %lld tokens, %lld positions; entropies are fractions of log m\n\n",
               (long long)r->n_docs, (long long)r->docs_short, (long long)r->tokens, (long long)r->positions);
        printf("%6s %9s", "layer", "H");
        for (int k = 0; k < o->n_orders; k++) printf("  %8s%d %8s%d %8s%d", "I_in", o->orders[k], "I_out", o->orders[k], "opt", o->orders[k]);
        printf("\n");
        for (int s = 0; s < r->n_sel; s++) {
            printf("%6d %9.6f", r->sel[s], H[s]);
            for (int k = 0; k < o->n_orders; k++) {
                const double *v = values + ((int64_t)s * o->n_orders + k) * 3;
                printf("  %9.6f %9.6f %9.4f", v[0], v[1], v[2]);
            }
            printf("\n");
        }
        const cJSON *lm = cJSON_GetObjectItem(root, "layer_mean");
        printf("%6s %9.6f", "mean", cJSON_GetObjectItem(lm, "H")->valuedouble);
        const cJSON *ord;
        cJSON_ArrayForEach(ord, cJSON_GetObjectItem(lm, "orders"))
            printf("  %9.6f %9.6f %9.4f", cJSON_GetObjectItem(ord, "I_in")->valuedouble,
                   cJSON_GetObjectItem(ord, "I_out")->valuedouble, cJSON_GetObjectItem(ord, "optimality")->valuedouble);
        printf("\n(mean over layers 1..%d, the embedding layer excluded)\n", r->cfg.n_layers);
    }

    if (!rc) {
        char title[512], warning[1024];
        snprintf(title, sizeof title, "%s", o->model_dir);
        for (char *q = title; *q; q++) if (*q == '\'' || *q == '_') *q = ' ';
        figure_data fd = {title, r->n_sel, r->sel, H, o->n_orders, o->orders, values};
        if (figures_write(o->out, &fd, warning, sizeof warning) != 0) fprintf(stderr, "softent: %s\n", warning);
        printf("\nresults: %s/analysis.json, %s/analysis.csv; figures: %s/layers.png, %s/plane_n*.png (and .svg)\n",
               o->out, o->out, o->out, o->out);
    }
    cJSON_Delete(root);
    free(H);
    free(values);
    return rc;
}

int cmd_analyze(int argc, char **argv)
{
    options o = {.params = softent_default_params(), .max_length = 512, .out = "analysis", .layers_spec = "all"};
    parse_orders(&o, "1,2,3");
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc;
    cli_set_threads(o.threads);
    run r = {.o = &o};
    if ((rc = softent_model_load(&r.model, o.model_dir))) { rc = cli_lib_error(rc); goto done; }
    softent_model_get_config(r.model, &r.cfg);
    if ((rc = softent_tokenizer_load(&r.tok, o.model_dir))) { rc = cli_lib_error(rc); goto done; }
    if ((rc = select_layers(&r)) || (rc = read_corpus(&r)) || (rc = make_accumulators(&r)) || (rc = forward_all(&r)))
        goto done;
    rc = write_outputs(&r);
done:
    for (int s = r.n_sel - 1; s >= 0 && r.acc; s--) softent_acc_free(r.acc[s]);
    free(r.acc);
    for (int64_t i = 0; i < r.n_docs; i++) free(r.docs[i].tokens);
    free(r.docs);
    free(r.sel);
    free(r.slot_of_layer);
    softent_tokenizer_free(r.tok);
    softent_model_free(r.model);
    return rc;
}
