/*
 * corpus.c - pass 1 of an analysis: the corpus read, tokenized and
 * truncated once, and its n-gram labels counted once, so that every layer
 * (and, in a trace, every checkpoint) shares the same positions, labels
 * and reference points.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "corpus.h"
#include "estimator/keytable.h"
#include "tokens.h"
#include "softent_corpus.h"

softent_analysis_params softent_analysis_default_params(void)
{
    softent_analysis_params p = {.params = softent_default_params(), .max_length = 512, .n_orders = 3};
    for (int k = 0; k < 3; k++) p.orders[k] = k + 1;
    return p;
}

static int check_params(const softent_analysis_params *p)
{
    if (p->max_length < 2) return se_fail(SOFTENT_E_INVALID, "max_length %lld: need >= 2", (long long)p->max_length);
    if (p->n_orders < 1 || p->n_orders > SOFTENT_MAX_ARITY) return se_fail(SOFTENT_E_INVALID, "%d n-gram orders: need 1..%d", p->n_orders, SOFTENT_MAX_ARITY);
    for (int k = 0; k < p->n_orders; k++)
        if (p->orders[k] < 1 || p->orders[k] > SOFTENT_MAX_ARITY)
            return se_fail(SOFTENT_E_INVALID, "n-gram order %d: need 1..%d", p->orders[k], SOFTENT_MAX_ARITY);
    if (p->n_labels < 0 || p->n_labels > SOFTENT_ANALYSIS_MAX_LABELS)
        return se_fail(SOFTENT_E_INVALID, "%d label sets of the user's: at most %d", p->n_labels, SOFTENT_ANALYSIS_MAX_LABELS);
    return SOFTENT_OK;
}

/* Keep the document just read, cut to n of its n_full tokens (ids is
 * taken over, also on failure). */
static int keep(softent_analysis_corpus *c, size_t *cap, int32_t *ids, int64_t n, int64_t n_full)
{
    if (se_grow(&c->docs, cap, (size_t)c->info.docs_used + 1, sizeof *c->docs)) {
        free(ids);
        return SOFTENT_E_NOMEM;
    }
    c->docs[c->info.docs_used++] = (se_analysis_doc){ids, n, c->n_max - 1, softent_ngram_positions(n, c->n_max),
                                                     c->info.docs_read - 1, n_full};
    c->info.tokens += n;
    c->info.positions += softent_ngram_positions(n, c->n_max);
    c->info.token_hash = se_fnv1a64(c->info.token_hash, ids, (size_t)n * sizeof *ids);
    return SOFTENT_OK;
}

static int done_reading(const softent_analysis_corpus *c)
{
    return (c->p.max_docs && c->info.docs_read >= c->p.max_docs) || (c->p.max_tokens && c->info.tokens >= c->p.max_tokens);
}

static int read_documents(softent_analysis_corpus *c, const char *path, softent_tokenizer *tok, int vocab_size)
{
    softent_corpus *in;
    int rc = softent_corpus_open(&in, path, c->p.text_field);
    if (rc) return rc;
    size_t cap = 0;
    c->info.token_hash = SE_FNV1A64_INIT;
    while (!rc && !done_reading(c)) {
        const char *text;
        size_t len;
        if ((rc = softent_corpus_next(in, &text, &len)) || !text) break;
        c->info.docs_read++;
        int32_t *ids;
        int64_t n, n_full;
        if ((rc = softent_tokenizer_encode(tok, text, len, 1, &ids, &n_full))) break;
        n = n_full > c->p.max_length ? c->p.max_length : n_full;
        if (softent_ngram_positions(n, c->n_max) == 0) {
            c->info.docs_short++;
            free(ids);
            continue;
        }
        if ((rc = se_check_ids(path, 0, ids, n, vocab_size))) free(ids);
        else rc = keep(c, &cap, ids, n, n_full);
    }
    softent_corpus_close(in);
    if (!rc && c->info.docs_used == 0)
        rc = se_fail(SOFTENT_E_EMPTY, "%s: no document has the %d tokens that %d-grams on both sides of a position need (%lld read, %lld too short)",
                     path, 2 * c->n_max, c->n_max, (long long)c->info.docs_read, (long long)c->info.docs_short);
    return rc;
}

softent_params se_analysis_acc_params(const softent_analysis_corpus *c)
{
    softent_params p = c->p.params;
    p.min_count = 1; /* min_count is applied per position, to in{n} and out{n} together */
    return p;
}

/* The largest document's positions (scratch sizes). */
static int64_t max_positions(const softent_analysis_corpus *c)
{
    int64_t most = 0;
    for (int64_t i = 0; i < c->info.docs_used; i++) {
        int64_t npos = softent_ngram_positions(c->docs[i].n, c->n_max);
        most = npos > most ? npos : most;
    }
    return most;
}

/* With min_count K > 1: count every input and every output n-gram of order n
 * over all positions, into tin and tout. */
static int count_ngrams(const softent_analysis_corpus *c, int n, se_keytable *tin, se_keytable *tout, int64_t *in, int64_t *out)
{
    for (int64_t i = 0; i < c->info.docs_used; i++) {
        const se_analysis_doc *doc = &c->docs[i];
        const int64_t npos = softent_ngram_positions(doc->n, c->n_max);
        softent_ngram_labels(doc->tokens, doc->n, c->n_max, n, in, out);
        for (int64_t p = 0; p < npos; p++) {
            int32_t a, b;
            int rc = se_keytable_intern(tin, in + p * n, &a);
            if (rc || (rc = se_keytable_intern(tout, out + p * n, &b))) return rc;
            tin->count[a]++;
            tout->count[b]++;
        }
    }
    return SOFTENT_OK;
}

/* A position keeps its labels of order n only when its input n-gram and its
 * output n-gram each occur >= K times among all positions; the others get
 * SOFTENT_NO_LABEL in both sets, so in{n} and out{n} use the same rows. */
static int mask_positions(int n, int64_t npos, int64_t min_count, se_keytable *tin, se_keytable *tout, int64_t *in, int64_t *out,
                          int64_t *kept)
{
    for (int64_t p = 0; p < npos; p++) {
        int32_t a, b;
        int rc = se_keytable_intern(tin, in + p * n, &a);
        if (rc || (rc = se_keytable_intern(tout, out + p * n, &b))) return rc;
        if (tin->count[a] >= min_count && tout->count[b] >= min_count) {
            (*kept)++;
            continue;
        }
        for (int k = 0; k < n; k++) in[p * n + k] = out[p * n + k] = k ? 0 : SOFTENT_NO_LABEL;
    }
    return SOFTENT_OK;
}

/* The labels of one order n over every document: in{n} and out{n}.  in and
 * out are scratch [max_positions, SOFTENT_MAX_ARITY]. */
static int count_order(softent_analysis_corpus *c, int n, int64_t *in, int64_t *out)
{
    char name[2][16];
    int set[2], rc = SOFTENT_OK;
    snprintf(name[0], sizeof name[0], "in%d", n);
    snprintf(name[1], sizeof name[1], "out%d", n);
    for (int s = 0; s < 2 && !rc; s++) rc = softent_acc_add_labelset(c->labels, name[s], n, &set[s]);
    const int64_t K = c->p.params.min_count;
    se_keytable tin, tout;
    int tables = 0;
    int64_t kept = 0;
    if (!rc && K > 1) {
        if ((rc = se_keytable_init(&tin, n))) return rc;
        if ((rc = se_keytable_init(&tout, n))) {
            se_keytable_free(&tin);
            return rc;
        }
        tables = 1;
        rc = count_ngrams(c, n, &tin, &tout, in, out);
    }
    for (int64_t i = 0; i < c->info.docs_used && !rc; i++) {
        const se_analysis_doc *doc = &c->docs[i];
        const int64_t npos = softent_ngram_positions(doc->n, c->n_max);
        softent_ngram_labels(doc->tokens, doc->n, c->n_max, n, in, out);
        if (tables) rc = mask_positions(n, npos, K, &tin, &tout, in, out, &kept);
        if (!rc) rc = softent_acc_count(c->labels, set[0], in, npos);
        if (!rc) rc = softent_acc_count(c->labels, set[1], out, npos);
    }
    if (tables) {
        se_keytable_free(&tin);
        se_keytable_free(&tout);
    }
    if (!rc && tables && kept == 0)
        rc = se_fail(SOFTENT_E_EMPTY, "--min-count %lld leaves no position for order %d: no input %d-gram and output %d-gram both occur %lld times "
                     "among the %lld positions; lower --min-count or give more text", (long long)K, n, n, n, (long long)K,
                     (long long)c->info.positions);
    return rc;
}

/* The user's label sets, each one label a token (user_labels.c). */
static int count_user_labels(softent_analysis_corpus *c)
{
    for (int u = 0; u < c->p.n_labels; u++) {
        int64_t *keys;
        int set, rc = se_user_labels_read(c, c->p.label_names[u], c->p.label_paths[u], &keys);
        if (rc) return rc;
        if (!(rc = softent_acc_add_labelset(c->labels, c->p.label_names[u], 1, &set)))
            rc = softent_acc_count(c->labels, set, keys, c->info.positions);
        free(keys);
        if (rc) return rc;
        snprintf(c->label_names[u], sizeof c->label_names[u], "%s", c->p.label_names[u]);
    }
    return SOFTENT_OK;
}

static int count_labels(softent_analysis_corpus *c)
{
    const softent_params p = se_analysis_acc_params(c);
    int rc = softent_acc_new(&c->labels, &p, c->d_model, NULL);
    if (rc) return rc;
    const size_t scratch = (size_t)(max_positions(c) * SOFTENT_MAX_ARITY) + 1;
    int64_t *in = malloc(scratch * sizeof *in), *out = malloc(scratch * sizeof *out);
    if (!in || !out) rc = SOFTENT_E_NOMEM;
    for (int k = 0; k < c->p.n_orders && !rc; k++) rc = count_order(c, c->p.orders[k], in, out);
    if (!rc) rc = count_user_labels(c);
    /* the bootstrap resamples documents: each position's group is its document */
    for (int64_t i = 0; i < c->info.docs_used && !rc && p.bootstrap > 0; i++) {
        const int64_t npos = softent_ngram_positions(c->docs[i].n, c->n_max);
        for (int64_t t = 0; t < npos; t++) in[t] = i;
        rc = softent_acc_count_groups(c->labels, in, npos);
    }
    free(in);
    free(out);
    return rc == SOFTENT_E_NOMEM ? se_fail(rc, "out of memory counting labels") : rc;
}

int softent_analysis_corpus_read(softent_analysis_corpus **out, const softent_analysis_params *p, const char *path,
                                 softent_tokenizer *tok, int vocab_size, int64_t d_model)
{
    *out = NULL;
    int rc = check_params(p);
    if (rc) return rc;
    softent_analysis_corpus *c = calloc(1, sizeof *c);
    if (!c) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    c->p = *p;
    c->d_model = d_model;
    for (int k = 0; k < p->n_orders; k++) c->n_max = p->orders[k] > c->n_max ? p->orders[k] : c->n_max;
    if (!(rc = read_documents(c, path, tok, vocab_size))) rc = count_labels(c);
    /* borrowed, and read only above */
    c->p.text_field = NULL;
    memset(c->p.label_names, 0, sizeof c->p.label_names);
    memset(c->p.label_paths, 0, sizeof c->p.label_paths);
    if (rc) softent_analysis_corpus_free(c);
    else *out = c;
    return rc;
}

void softent_analysis_corpus_get_info(const softent_analysis_corpus *c, softent_analysis_corpus_info *info)
{
    *info = c->info;
}

void softent_analysis_corpus_free(softent_analysis_corpus *c)
{
    if (!c) return;
    for (int64_t i = 0; i < c->info.docs_used; i++) free(c->docs[i].tokens);
    free(c->docs);
    softent_acc_free(c->labels);
    for (int k = 0; k < 3; k++) free(c->fields[k]);
    free(c);
}
