/*
 * eval.c - a model scored on held-out tasks (softent_eval.h): corpus loss,
 * bits per byte and next-token accuracy; multiple choice by
 * log-likelihood.  Log-softmax is taken in double from the float logits.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "tokens.h"
#include "softent_corpus.h"
#include "softent_eval.h"

#define MC_MAX_BYTES ((size_t)1 << 30)

/* log-sum-exp of one row [vocab], in double; *argmax the first maximum. */
static double row_logsumexp(const float *row, int64_t vocab, int64_t *argmax)
{
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; v++)
        if (row[v] > row[best]) best = v;
    double m = row[best], s = 0;
    for (int64_t v = 0; v < vocab; v++) s += exp((double)row[v] - m);
    if (argmax) *argmax = best;
    return m + log(s);
}

/* Forward ids [n] and add log p(ids[i] | ids[<i]) for i >= from to *lp;
 * *correct counts argmax hits.  logits is scratch [n, vocab]. */
static int score(softent_model *model, const int32_t *ids, int64_t n, int64_t from, int64_t vocab, float *logits,
                 double *lp, int64_t *correct)
{
    int rc = softent_model_forward(model, ids, n, NULL, NULL, logits);
    if (rc) return rc;
    double sum = 0;
    int64_t hits = 0;
    for (int64_t i = from < 1 ? 1 : from; i < n; i++) {
        const float *row = logits + (size_t)(i - 1) * (size_t)vocab;
        int64_t am;
        double lse = row_logsumexp(row, vocab, &am);
        sum += (double)row[ids[i]] - lse;
        hits += am == ids[i];
    }
    *lp = sum;
    if (correct) *correct = hits;
    return SOFTENT_OK;
}

/* ---- loss ----------------------------------------------------------------- */

void softent_eval_loss_free(softent_eval_loss_result *r)
{
    if (!r) return;
    free(r->docs);
    memset(r, 0, sizeof *r);
}

int softent_eval_loss(softent_model *model, softent_tokenizer *tok, const char *path, const char *text_field,
                      softent_eval_loss_result *out)
{
    memset(out, 0, sizeof *out);
    softent_model_config cfg;
    int rc = softent_model_get_config(model, &cfg);
    if (rc) return rc;
    const int64_t vocab = cfg.vocab_size, maxpos = cfg.max_positions > 0 ? cfg.max_positions : INT64_MAX;
    softent_corpus *in;
    if ((rc = softent_corpus_open(&in, path, text_field))) return rc;
    float *logits = NULL;
    size_t logits_cap = 0, docs_cap = 0;
    double nats = 0, nats_whole = 0;
    int64_t correct = 0;
    for (;;) {
        const char *text;
        size_t len;
        if ((rc = softent_corpus_next(in, &text, &len)) || !text) break;
        int32_t *ids;
        int64_t n;
        if ((rc = softent_tokenizer_encode(tok, text, len, 1, &ids, &n))) break;
        softent_eval_doc d = {.bytes = (int64_t)len};
        if (n > maxpos) { n = maxpos; d.truncated = 1; }
        d.tokens = n;
        d.predicted = n > 1 ? n - 1 : 0;
        if (d.predicted > 0) {
            if ((rc = se_check_ids(path, 0, ids, n, vocab))) { free(ids); break; }
            if (se_grow(&logits, &logits_cap, (size_t)n * (size_t)vocab, sizeof *logits)) { free(ids); rc = SOFTENT_E_NOMEM; break; }
            double lp;
            rc = score(model, ids, n, 1, vocab, logits, &lp, &d.correct);
            d.nats = -lp;
        }
        free(ids);
        if (rc) break;
        if (se_grow(&out->docs, &docs_cap, (size_t)out->documents + 1, sizeof *out->docs)) { rc = SOFTENT_E_NOMEM; break; }
        out->docs[out->documents++] = d;
        out->predicted += d.predicted;
        nats += d.nats;
        correct += d.correct;
        if (d.truncated) out->truncated++;
        else { nats_whole += d.nats; out->bytes_whole += d.bytes; }
    }
    softent_corpus_close(in);
    free(logits);
    if (!rc && out->predicted == 0)
        rc = se_fail(SOFTENT_E_EMPTY, "%s: no token to predict (%lld documents, each of at most one token)", path, (long long)out->documents);
    if (rc) { softent_eval_loss_free(out); return rc; }
    out->loss = nats / (double)out->predicted;
    out->accuracy = (double)correct / (double)out->predicted;
    out->bpb = out->bytes_whole > 0 ? nats_whole / (log(2.0) * (double)out->bytes_whole) : NAN;
    out->baseline = 1.0 / (double)vocab;
    return SOFTENT_OK;
}

/* ---- multiple choice --------------------------------------------------------- */

static void free_record(softent_eval_mc_record *r)
{
    free(r->logprob);
    free(r->n_tokens);
    free(r->bytes);
}

void softent_eval_mc_free(softent_eval_mc_result *r)
{
    if (!r) return;
    for (int64_t i = 0; i < r->n_records; i++) free_record(&r->records[i]);
    free(r->records);
    memset(r, 0, sizeof *r);
}

typedef struct {
    softent_model *model;
    softent_tokenizer *tok;
    const char *path;
    int64_t vocab, maxpos;
    float *logits; /* scratch [cap / vocab, vocab] */
    size_t logits_cap;
} mc_ctx;

/* Score one choice of a context. */
static int score_choice(mc_ctx *c, int64_t line, int k, const char *ctx, size_t ctx_len, const char *choice, size_t choice_len,
                        double *lp, int64_t *n_tokens)
{
    int32_t *ids = NULL;
    int64_t nc, n;
    int rc = se_encode_continuation(c->tok, ctx, ctx_len, choice, choice_len, &ids, &n, &nc);
    if (rc) goto done;
    if (nc < 1) { rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: the context has no tokens (and the tokenizer adds no BOS): nothing to predict choice %d from", c->path, (long long)line, k); goto done; }
    if (n <= nc) { rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: choice %d has no tokens after the context's %lld", c->path, (long long)line, k, (long long)nc); goto done; }
    int64_t cont = n - nc, start = 0;
    if (n > c->maxpos) {
        if (cont > c->maxpos - 1) { rc = se_fail(SOFTENT_E_LIMIT, "%s:%lld: choice %d has %lld tokens: more than the model's %lld positions - 1", c->path, (long long)line, k, (long long)cont, (long long)c->maxpos); goto done; }
        start = n - c->maxpos;
    }
    if ((rc = se_check_ids(c->path, line, ids + start, n - start, c->vocab))) goto done;
    if (se_grow(&c->logits, &c->logits_cap, (size_t)(n - start) * (size_t)c->vocab, sizeof *c->logits)) { rc = SOFTENT_E_NOMEM; goto done; }
    rc = score(c->model, ids + start, n - start, nc - start, c->vocab, c->logits, lp, NULL);
    *n_tokens = cont;
done:
    free(ids);
    return rc;
}

static int parse_record(mc_ctx *c, const char *text, size_t len, int64_t line, softent_eval_mc_record *r)
{
    memset(r, 0, sizeof *r);
    r->line = line;
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!j) return se_fail(SOFTENT_E_FORMAT, "%s:%lld: malformed JSON", c->path, (long long)line);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return se_fail(SOFTENT_E_FORMAT, "%s:%lld: not a JSON object", c->path, (long long)line);
    }
    int rc = SOFTENT_OK;
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(j, "context");
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    const cJSON *answer = cJSON_GetObjectItemCaseSensitive(j, "answer");
    int n = cJSON_IsArray(choices) ? cJSON_GetArraySize(choices) : 0;
    if (!cJSON_IsString(ctx)) rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: \"context\" is missing or not a string", c->path, (long long)line);
    else if (!cJSON_IsArray(choices)) rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: \"choices\" is missing or not an array", c->path, (long long)line);
    else if (n == 0) rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: \"choices\" is empty", c->path, (long long)line);
    else if (!cJSON_IsNumber(answer) || answer->valuedouble != floor(answer->valuedouble))
        rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: \"answer\" is missing or not an integer", c->path, (long long)line);
    else if (answer->valuedouble < 0 || answer->valuedouble >= n)
        rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: \"answer\" %g is out of range for %d choices (0..%d)", c->path, (long long)line,
                     answer->valuedouble, n, n - 1);
    for (int k = 0; !rc && k < n; k++)
        if (!cJSON_IsString(cJSON_GetArrayItem(choices, k)))
            rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: choice %d is not a string", c->path, (long long)line, k);
    if (!rc) {
        r->n_choices = n;
        r->answer = (int)answer->valuedouble;
        r->logprob = calloc((size_t)n, sizeof *r->logprob);
        r->n_tokens = calloc((size_t)n, sizeof *r->n_tokens);
        r->bytes = calloc((size_t)n, sizeof *r->bytes);
        if (!r->logprob || !r->n_tokens || !r->bytes) rc = SOFTENT_E_NOMEM;
    }
    for (int k = 0; !rc && k < n; k++) {
        const char *cs = ctx->valuestring, *ch = cJSON_GetArrayItem(choices, k)->valuestring;
        r->bytes[k] = (int64_t)strlen(ch);
        rc = score_choice(c, line, k, cs, strlen(cs), ch, strlen(ch), &r->logprob[k], &r->n_tokens[k]);
    }
    cJSON_Delete(j);
    if (rc) { free_record(r); return rc; }
    r->pred = r->pred_norm = 0;
    for (int k = 1; k < n; k++) {
        if (r->logprob[k] > r->logprob[r->pred]) r->pred = k;
        double a = r->logprob[k] / (double)(r->bytes[k] ? r->bytes[k] : 1);
        double b = r->logprob[r->pred_norm] / (double)(r->bytes[r->pred_norm] ? r->bytes[r->pred_norm] : 1);
        if (a > b) r->pred_norm = k;
    }
    return SOFTENT_OK;
}

int softent_eval_mc(softent_model *model, softent_tokenizer *tok, const char *path, softent_eval_mc_result *out)
{
    memset(out, 0, sizeof *out);
    softent_model_config cfg;
    int rc = softent_model_get_config(model, &cfg);
    if (rc) return rc;
    mc_ctx c = {model, tok, path, cfg.vocab_size, cfg.max_positions > 0 ? cfg.max_positions : INT64_MAX, NULL, 0};
    char *data;
    size_t len;
    if ((rc = se_read_file(path, MC_MAX_BYTES, &data, &len))) return rc;
    size_t cap = 0;
    int64_t line = 0, hits = 0, hits_norm = 0;
    double base = 0;
    const char *s;
    size_t n, pos = 0;
    while (!rc && se_next_line(data, len, &pos, &line, &s, &n)) {
        if (se_grow(&out->records, &cap, (size_t)out->n_records + 1, sizeof *out->records)) { rc = SOFTENT_E_NOMEM; break; }
        softent_eval_mc_record *r = &out->records[out->n_records];
        if ((rc = parse_record(&c, s, n, line, r))) break;
        out->n_records++;
        hits += r->pred == r->answer;
        hits_norm += r->pred_norm == r->answer;
        base += 1.0 / r->n_choices;
    }
    free(data);
    free(c.logits);
    if (!rc && out->n_records == 0) rc = se_fail(SOFTENT_E_EMPTY, "%s: no records", path);
    if (rc) { softent_eval_mc_free(out); return rc; }
    out->acc = (double)hits / (double)out->n_records;
    out->acc_norm = (double)hits_norm / (double)out->n_records;
    out->baseline = base / (double)out->n_records;
    return SOFTENT_OK;
}
