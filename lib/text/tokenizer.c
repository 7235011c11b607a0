/*
 * tokenizer.c - softent_tokenizer (softent_text.h): loading tokenizer.json
 * and the encoding pipeline, in Hugging Face's order:
 *
 *   text -> UTF-8 repair -> added tokens in the raw text
 *        -> per stretch between them: normalizer -> added tokens in the
 *           normalized text -> pre-tokenizer -> the model (BPE,
 *           WordPiece or Unigram) per word
 *        -> truncation -> post-processor (BOS/EOS) -> padding
 *
 * The pieces are in tokenizer_{norm,precompiled,pretok,bpe,wordpiece,unigram,added,regex,util}.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "softent_tokenizer.h"
#include "tokenizer_added.h"
#include "tokenizer_bpe.h"
#include "tokenizer_json.h"
#include "tokenizer_pretok.h"
#include "tokenizer_unigram.h"
#include "tokenizer_wordpiece.h"

/* Scratch for one encode call. */
typedef struct {
    se_buf repaired, normed;
    se_spans raw_segs, norm_segs;
    se_norm_work norm;
    se_pretok_work pre;
    se_bpe_work bpe;
    se_buf piece;           /* WordPiece's */
    se_unigram_work unigram;
    se_ids ids;
} work;

struct softent_tokenizer {
    char *path;
    se_normalizer norm;
    se_pretok pre;
    enum { MODEL_BPE, MODEL_WORDPIECE, MODEL_UNIGRAM } model;
    se_bpe bpe;
    se_wordpiece wp;
    se_unigram unigram;
    se_added added;
    /* The post-processor for one sequence with add_special_tokens: ids
     * before and after it. */
    se_ids before, after;
    int64_t trunc_max;      /* -1: no truncation */
    int trunc_left;
    int64_t pad_to;         /* -1: no padding; 0: to the sequence's own length */
    int64_t pad_multiple;
    int pad_left;
    int32_t pad_id;
    int64_t vocab_size;
    const char **tokens;    /* [vocab_size] */
    pthread_mutex_t lock;   /* held by the call using `shared` */
    work shared;            /* its BPE cache persists across calls */
};

/* ---- post-processors --------------------------------------------------------- */

static int push_ids(se_ids *to, const cJSON *ids, const char *what)
{
    const cJSON *v;
    if (!cJSON_IsArray(ids)) return se_fail(SOFTENT_E_FORMAT, "%s: special token without \"ids\"", what);
    cJSON_ArrayForEach(v, ids) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > INT32_MAX)
            return se_fail(SOFTENT_E_FORMAT, "%s: a special token id is not a valid id", what);
        if (se_ids_push(to, (int32_t)v->valuedouble)) return SOFTENT_E_NOMEM;
    }
    return 0;
}

/* TemplateProcessing's "single": SpecialToken pieces around Sequence A. */
static int template_single(const cJSON *j, se_ids *before, se_ids *after, const char *what)
{
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(j, "single");
    const cJSON *special = cJSON_GetObjectItemCaseSensitive(j, "special_tokens"), *piece;
    int seen_a = 0, rc;
    if (!cJSON_IsArray(single)) return se_fail(SOFTENT_E_FORMAT, "%s: \"single\" is not a list of pieces", what);
    cJSON_ArrayForEach(piece, single) {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(piece, "Sequence");
        const cJSON *tok = cJSON_GetObjectItemCaseSensitive(piece, "SpecialToken");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(seq ? seq : tok, "id");
        if (!cJSON_IsString(id)) return se_fail(SOFTENT_E_FORMAT, "%s: a piece of \"single\" is neither Sequence nor SpecialToken", what);
        if (seq) {
            if (strcmp(id->valuestring, "A") || seen_a++)
                return se_fail(SOFTENT_E_FORMAT, "%s: \"single\" must hold sequence A once", what);
            continue;
        }
        const cJSON *entry = cJSON_GetObjectItemCaseSensitive(special, id->valuestring);
        if (!entry) return se_fail(SOFTENT_E_FORMAT, "%s: special token \"%s\" is not in \"special_tokens\"", what, id->valuestring);
        if ((rc = push_ids(seen_a ? after : before, cJSON_GetObjectItemCaseSensitive(entry, "ids"), what))) return rc;
    }
    if (!seen_a) return se_fail(SOFTENT_E_FORMAT, "%s: \"single\" has no sequence A", what);
    return 0;
}

/* Roberta/BertProcessing: "cls": [token, id] before, "sep" after. */
static int cls_sep(const cJSON *j, se_ids *before, se_ids *after, const char *what)
{
    const cJSON *cls = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "cls"), 1);
    const cJSON *sep = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "sep"), 1);
    if (!cJSON_IsNumber(cls) || !cJSON_IsNumber(sep) || cls->valuedouble < 0 || sep->valuedouble < 0)
        return se_fail(SOFTENT_E_FORMAT, "%s: \"cls\" and \"sep\" must be [token, id]", what);
    if (se_ids_push(before, (int32_t)cls->valuedouble) || se_ids_push(after, (int32_t)sep->valuedouble)) return SOFTENT_E_NOMEM;
    return 0;
}

/* Each processor wraps what the previous ones made (HF's Sequence). */
static int parse_post(softent_tokenizer *tok, const cJSON *j, int depth)
{
    if (!j || cJSON_IsNull(j)) return 0;
    const char *type = se_json_type(j);
    char what[512];
    snprintf(what, sizeof what, "%s: post_processor %s", tok->path, type ? type : "(no type)");
    if (!type) return se_fail(SOFTENT_E_FORMAT, "%s", what);
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "processors"), *item;
        if (!cJSON_IsArray(list) || depth > 32) return se_fail(SOFTENT_E_FORMAT, "%s: \"processors\" is not a list", what);
        cJSON_ArrayForEach(item, list) {
            int rc = parse_post(tok, item, depth + 1);
            if (rc) return rc;
        }
        return 0;
    }
    if (!strcmp(type, "ByteLevel")) return 0; /* it only trims offsets */
    se_ids before = {0}, after = {0};
    int rc;
    if (!strcmp(type, "TemplateProcessing")) rc = template_single(j, &before, &after, what);
    else if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) rc = cls_sep(j, &before, &after, what);
    else
        rc = se_fail(SOFTENT_E_FORMAT,
                     "%s: unsupported post_processor type '%s' (softent supports TemplateProcessing, ByteLevel, "
                     "RobertaProcessing, BertProcessing, Sequence)", tok->path, type);
    if (!rc && (se_ids_append(&before, tok->before.v, tok->before.n) || se_ids_append(&tok->after, after.v, after.n)))
        rc = SOFTENT_E_NOMEM;
    if (!rc) {
        se_ids_free(&tok->before);
        tok->before = before;
        before = (se_ids){0};
    }
    se_ids_free(&before);
    se_ids_free(&after);
    return rc;
}

/* ---- truncation and padding ------------------------------------------------- */

static int parse_truncation(softent_tokenizer *tok, const cJSON *j)
{
    tok->trunc_max = -1;
    if (!j || cJSON_IsNull(j)) return 0;
    char what[512];
    snprintf(what, sizeof what, "%s: truncation", tok->path);
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(j, "max_length");
    const char *dir, *strategy;
    int rc;
    if ((rc = se_json_str(j, "direction", "Right", &dir, what)) || (rc = se_json_str(j, "strategy", "LongestFirst", &strategy, what)))
        return rc;
    if (!cJSON_IsNumber(max) || max->valuedouble < 0) return se_fail(SOFTENT_E_FORMAT, "%s: no valid \"max_length\"", what);
    if (!strcmp(strategy, "OnlySecond"))
        return se_fail(SOFTENT_E_FORMAT, "%s: strategy OnlySecond truncates a second sequence, which single texts do not have", what);
    tok->trunc_max = (int64_t)max->valuedouble;
    tok->trunc_left = !strcmp(dir, "Left");
    return 0;
}

static int parse_padding(softent_tokenizer *tok, const cJSON *j)
{
    tok->pad_to = -1;
    if (!j || cJSON_IsNull(j)) return 0;
    char what[512];
    snprintf(what, sizeof what, "%s: padding", tok->path);
    const cJSON *strategy = cJSON_GetObjectItemCaseSensitive(j, "strategy");
    const cJSON *fixed = cJSON_GetObjectItemCaseSensitive(strategy, "Fixed");
    const cJSON *multiple = cJSON_GetObjectItemCaseSensitive(j, "pad_to_multiple_of");
    const cJSON *pad_id = cJSON_GetObjectItemCaseSensitive(j, "pad_id");
    const char *dir;
    int rc = se_json_str(j, "direction", "Right", &dir, what);
    if (rc) return rc;
    if (cJSON_IsNumber(fixed)) tok->pad_to = (int64_t)fixed->valuedouble;
    else if (cJSON_IsString(strategy) && !strcmp(strategy->valuestring, "BatchLongest")) tok->pad_to = 0;
    else return se_fail(SOFTENT_E_FORMAT, "%s: unknown \"strategy\"", what);
    tok->pad_multiple = cJSON_IsNumber(multiple) ? (int64_t)multiple->valuedouble : 0;
    tok->pad_id = cJSON_IsNumber(pad_id) ? (int32_t)pad_id->valuedouble : 0;
    tok->pad_left = !strcmp(dir, "Left");
    return 0;
}

/* ---- loading ------------------------------------------------------------------- */

/* tokenizer.json files run to ~30 MB (large vocabularies with their
 * merges); the bound only stops a wrong path (a disk image, a dataset) from
 * being read into memory whole. */
#define TOKENIZER_JSON_MAX ((size_t)1 << 30)

/* The line and column of byte `at` in data, for parse errors. */
static void position(const char *data, size_t at, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (data[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int load_model(softent_tokenizer *tok, const cJSON *model)
{
    const char *type = se_json_type(model);
    if (!cJSON_IsObject(model)) return se_fail(SOFTENT_E_FORMAT, "%s: no \"model\" object", tok->path);
    /* Files from old versions of tokenizers leave out BPE's type. */
    if (type ? !strcmp(type, "BPE") : cJSON_HasObjectItem(model, "merges")) return se_bpe_load(&tok->bpe, model, tok->path);
    if (type && !strcmp(type, "WordPiece")) {
        tok->model = MODEL_WORDPIECE;
        return se_wordpiece_load(&tok->wp, model, tok->path);
    }
    if (type && !strcmp(type, "Unigram")) {
        tok->model = MODEL_UNIGRAM;
        return se_unigram_load(&tok->unigram, model, tok->path);
    }
    return se_fail(SOFTENT_E_FORMAT, "%s: unsupported model type '%s' (softent supports BPE, WordPiece and Unigram)", tok->path,
                   type ? type : "(none)");
}

static const se_strmap *model_vocab(const softent_tokenizer *tok, int32_t *max_id)
{
    switch (tok->model) {
    case MODEL_WORDPIECE: *max_id = tok->wp.max_id; return &tok->wp.vocab;
    case MODEL_UNIGRAM: *max_id = tok->unigram.max_id; return &tok->unigram.vocab;
    default: *max_id = tok->bpe.max_id; return &tok->bpe.vocab;
    }
}

/* Token ids index a table of the largest id + 1 entries: ids far beyond
 * the number of tokens (a sparse or corrupt file) would size it by the
 * file's claim, so they are bounded by the tokens there are. */
#define TOKEN_ID_SLACK 65536
#define TOKEN_ID_MAX ((int64_t)1 << 24)

static int build_token_table(softent_tokenizer *tok)
{
    int32_t model_max;
    const se_strmap *v = model_vocab(tok, &model_max);
    int64_t max = model_max;
    for (int i = 0; i < tok->added.n; i++)
        if (tok->added.tokens[i].id > max) max = tok->added.tokens[i].id;
    const int64_t entries = (int64_t)v->count + tok->added.n;
    if (max >= TOKEN_ID_MAX || max >= 4 * entries + TOKEN_ID_SLACK)
        return se_fail(SOFTENT_E_FORMAT, "%s: token id %lld, but the file has %lld tokens: ids must stay below %lld (and below 2^24)",
                       tok->path, (long long)max, (long long)entries, (long long)(4 * entries + TOKEN_ID_SLACK));
    tok->vocab_size = max + 1;
    tok->tokens = calloc((size_t)tok->vocab_size + 1, sizeof *tok->tokens);
    if (!tok->tokens) return se_fail(SOFTENT_E_NOMEM, "out of memory for the token table");
    for (size_t i = 0; i < v->cap; i++)
        if (v->slots[i].value >= 0) tok->tokens[v->slots[i].value] = v->pool.p + v->slots[i].off;
    for (int i = 0; i < tok->added.n; i++) tok->tokens[tok->added.tokens[i].id] = tok->added.tokens[i].content;
    return 0;
}

static int load_json(softent_tokenizer *tok, const cJSON *root)
{
    int rc;
    if (!cJSON_IsObject(root)) return se_fail(SOFTENT_E_FORMAT, "%s: not a tokenizer.json (the top level is not an object)", tok->path);
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (version && !(cJSON_IsString(version) && !strcmp(version->valuestring, "1.0")))
        return se_fail(SOFTENT_E_FORMAT, "%s: unknown tokenizer.json version (softent reads version \"1.0\")", tok->path);
    if ((rc = load_model(tok, cJSON_GetObjectItemCaseSensitive(root, "model"))) ||
        (rc = se_norm_parse(&tok->norm, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), tok->path)) ||
        (rc = se_pretok_parse(&tok->pre, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), tok->path)) ||
        (rc = se_added_load(&tok->added, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), model_vocab(tok, &(int32_t){0}),
                            &tok->norm, tok->path)) ||
        (rc = parse_post(tok, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), 0)) ||
        (rc = parse_truncation(tok, cJSON_GetObjectItemCaseSensitive(root, "truncation"))) ||
        (rc = parse_padding(tok, cJSON_GetObjectItemCaseSensitive(root, "padding"))) || (rc = build_token_table(tok)))
        return rc;
    return 0;
}

/* A tokenizer whose path (for messages) is label; nothing loaded yet. */
static softent_tokenizer *tokenizer_new(const char *label, int is_dir)
{
    softent_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) return NULL;
    pthread_mutex_init(&tok->lock, NULL);
    tok->shared.bpe.use_cache = 1;
    size_t n = strlen(label) + sizeof "/tokenizer.json";
    if (!(tok->path = malloc(n))) {
        softent_tokenizer_free(tok);
        return NULL;
    }
    snprintf(tok->path, n, is_dir ? "%s/tokenizer.json" : "%s", label);
    return tok;
}

/* Parse data [len] as tok's tokenizer.json and load it. */
static int parse_and_load(softent_tokenizer *tok, const char *data, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(data, len);
    int rc = SOFTENT_OK;
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t line, col;
        position(data, at && at >= data && at <= data + len ? (size_t)(at - data) : len, &line, &col);
        rc = se_fail(SOFTENT_E_FORMAT, "%s: not valid JSON (line %zu, column %zu)", tok->path, line, col);
    }
    if (!rc) rc = load_json(tok, root);
    cJSON_Delete(root);
    return rc;
}

int softent_tokenizer_load(softent_tokenizer **out, const char *path)
{
    *out = NULL;
    se_clear_error();
    if (!path) return se_fail(SOFTENT_E_INVALID, "no tokenizer path given");
    struct stat st;
    int is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    softent_tokenizer *tok = tokenizer_new(path, is_dir);
    if (!tok) return se_fail(SOFTENT_E_NOMEM, "out of memory for a tokenizer");
    char *data = NULL;
    size_t len = 0;
    int rc = is_dir && stat(tok->path, &st) != 0 ? se_fail(SOFTENT_E_IO, "%s: the directory has no tokenizer.json", path)
                                                  : se_read_file(tok->path, TOKENIZER_JSON_MAX, &data, &len);
    if (!rc) rc = parse_and_load(tok, data, len);
    free(data);
    if (rc) {
        softent_tokenizer_free(tok);
        return rc;
    }
    *out = tok;
    return SOFTENT_OK;
}

int softent_tokenizer_load_json(softent_tokenizer **out, const char *json, size_t len, const char *label)
{
    *out = NULL;
    se_clear_error();
    softent_tokenizer *tok = tokenizer_new(label ? label : "tokenizer.json", 0);
    if (!tok) return se_fail(SOFTENT_E_NOMEM, "out of memory for a tokenizer");
    int rc = parse_and_load(tok, json, len);
    if (rc) {
        softent_tokenizer_free(tok);
        return rc;
    }
    *out = tok;
    return SOFTENT_OK;
}

static void work_free(work *w)
{
    se_buf_free(&w->repaired);
    se_buf_free(&w->normed);
    se_spans_free(&w->raw_segs);
    se_spans_free(&w->norm_segs);
    se_norm_work_free(&w->norm);
    se_pretok_work_free(&w->pre);
    se_bpe_work_free(&w->bpe);
    se_buf_free(&w->piece);
    se_unigram_work_free(&w->unigram);
    se_ids_free(&w->ids);
}

void softent_tokenizer_free(softent_tokenizer *tok)
{
    if (!tok) return;
    free(tok->path);
    se_norm_free(&tok->norm);
    se_pretok_free(&tok->pre);
    se_bpe_free(&tok->bpe);
    se_wordpiece_free(&tok->wp);
    se_unigram_free(&tok->unigram);
    se_added_free(&tok->added);
    se_ids_free(&tok->before);
    se_ids_free(&tok->after);
    free(tok->tokens);
    work_free(&tok->shared);
    pthread_mutex_destroy(&tok->lock);
    free(tok);
}

int64_t softent_tokenizer_vocab_size(const softent_tokenizer *tok) { return tok ? tok->vocab_size : 0; }

const char *softent_tokenizer_token(const softent_tokenizer *tok, int32_t id)
{
    return tok && id >= 0 && id < tok->vocab_size ? tok->tokens[id] : NULL;
}

/* ---- encoding ------------------------------------------------------------------ */

typedef struct {
    const softent_tokenizer *tok;
    work *w;
} encoder;

static int emit_word(void *ctx, const char *word, size_t n)
{
    encoder *e = ctx;
    if (e->tok->model == MODEL_WORDPIECE) return se_wordpiece_encode_word(&e->tok->wp, &e->w->piece, word, n, &e->w->ids);
    if (e->tok->model == MODEL_UNIGRAM) return se_unigram_encode_word(&e->tok->unigram, &e->w->unigram, word, n, &e->w->ids);
    return se_bpe_encode_word(&e->tok->bpe, &e->w->bpe, word, n, e->tok->pre.byte_level_last, &e->w->ids);
}

/* One stretch of text between added tokens of the raw text. */
static int encode_stretch(encoder *e, const char *s, size_t n, int at_start)
{
    const softent_tokenizer *tok = e->tok;
    work *w = e->w;
    int rc;
    if (tok->norm.n) {
        if ((rc = se_norm_apply(&tok->norm, &w->norm, s, n, &w->normed))) return rc;
        s = w->normed.p;
        n = w->normed.n;
    }
    if (!tok->added.norm.n_edges) return se_pretok_run(&tok->pre, &w->pre, s, n, at_start, emit_word, e);
    w->norm_segs.n = 0;
    if ((rc = se_added_split(&tok->added, &tok->added.norm, s, n, &w->norm_segs))) return rc;
    for (size_t k = 0; k < w->norm_segs.n; k++) {
        const se_span *g = &w->norm_segs.v[k];
        if (g->tag >= 0) rc = se_ids_push(&w->ids, g->tag) ? SOFTENT_E_NOMEM : 0;
        else rc = se_pretok_run(&tok->pre, &w->pre, s + g->start, g->end - g->start, at_start && g->start == 0, emit_word, e);
        if (rc) return rc;
    }
    return 0;
}

static int encode_text(encoder *e, const char *s, size_t n)
{
    work *w = e->w;
    w->raw_segs.n = 0;
    int rc = se_added_split(&e->tok->added, &e->tok->added.raw, s, n, &w->raw_segs);
    for (size_t k = 0; k < w->raw_segs.n && !rc; k++) {
        const se_span *g = &w->raw_segs.v[k];
        if (g->tag >= 0) rc = se_ids_push(&w->ids, g->tag) ? SOFTENT_E_NOMEM : 0;
        else rc = encode_stretch(e, s + g->start, g->end - g->start, g->start == 0);
    }
    return rc;
}

/* Truncation, the post-processor's ids and padding around w->ids. */
static int finish(const softent_tokenizer *tok, const work *w, int add_special, int32_t **ids, int64_t *n_ids)
{
    const int32_t *seq = w->ids.v;
    size_t n = w->ids.n;
    size_t nb = add_special ? tok->before.n : 0, na = add_special ? tok->after.n : 0;
    if (tok->trunc_max >= 0) {
        if ((size_t)tok->trunc_max < nb + na)
            return se_fail(SOFTENT_E_FORMAT, "%s: truncation max_length %lld is shorter than the %zu special tokens", tok->path,
                           (long long)tok->trunc_max, nb + na);
        size_t keep = (size_t)tok->trunc_max - nb - na;
        if (n > keep) {
            if (tok->trunc_left) seq += n - keep;
            n = keep;
        }
    }
    size_t total = nb + n + na, padded = total;
    if (tok->pad_to >= 0) {
        size_t target = tok->pad_to ? (size_t)tok->pad_to : total;
        if (tok->pad_multiple > 0 && target % (size_t)tok->pad_multiple)
            target += (size_t)tok->pad_multiple - target % (size_t)tok->pad_multiple;
        if (target > padded) padded = target;
    }
    int32_t *out = malloc((padded ? padded : 1) * sizeof *out);
    if (!out) return se_fail(SOFTENT_E_NOMEM, "out of memory for %zu token ids", padded);
    size_t pad = padded - total, at = tok->pad_left ? pad : 0;
    for (size_t i = 0; i < pad; i++) out[tok->pad_left ? i : total + i] = tok->pad_id;
    if (nb) memcpy(out + at, tok->before.v, nb * sizeof *out);
    if (n) memcpy(out + at + nb, seq, n * sizeof *out);
    if (na) memcpy(out + at + nb + n, tok->after.v, na * sizeof *out);
    *ids = out;
    *n_ids = (int64_t)padded;
    return 0;
}

int softent_tokenizer_encode(softent_tokenizer *tok, const char *text, size_t len, int add_special_tokens, int32_t **ids,
                             int64_t *n_ids)
{
    if (!ids || !n_ids) return se_fail(SOFTENT_E_INVALID, "encode: no place for the ids");
    *ids = NULL;
    *n_ids = 0;
    if (!tok || (!text && len)) return se_fail(SOFTENT_E_INVALID, "encode: no tokenizer or no text");
    /* The shared scratch (with its word cache) when free, else our own. */
    work own = {0}, *w = &own;
    int locked = pthread_mutex_trylock(&tok->lock) == 0;
    if (locked) w = &tok->shared;
    encoder e = {tok, w};
    w->ids.n = 0;
    int rc = 0;
    size_t valid = se_utf8_valid_prefix(text, len);
    if (valid < len) {
        w->repaired.n = 0;
        rc = se_utf8_repair(text, len, &w->repaired);
        text = w->repaired.p;
        len = w->repaired.n;
    }
    if (!rc) rc = encode_text(&e, text ? text : "", len);
    if (!rc) rc = finish(tok, w, add_special_tokens, ids, n_ids);
    if (locked) pthread_mutex_unlock(&tok->lock);
    else work_free(&own);
    return rc;
}
