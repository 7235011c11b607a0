/*
 * preference.c - pass 1 for preference information I(P;Z): a .jsonl of
 * prompt / chosen / rejected records, each response tokenized after its
 * prompt, its positions labelled 1 (chosen) or 0 (rejected).  A pair is
 * the bootstrap's group; a whole response is the null's unit, since its
 * label is the response's and not its tokens'.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/hash.h"
#include "tokens.h"
#include "corpus.h"

#define PREF_MAX_BYTES ((size_t)1 << 30)

static const char *const PROMPT_FIELDS[] = {"prompt", "instruction", "question", "input", "context", NULL};
static const char *const CHOSEN_FIELDS[] = {"chosen", "chosen_response", "response_chosen", NULL};
static const char *const REJECTED_FIELDS[] = {"rejected", "rejected_response", "response_rejected", NULL};
static const char *const POSITIONS[] = {"response", "last", "all"};

softent_preference_params softent_preference_default_params(void)
{
    return (softent_preference_params){.positions = SOFTENT_PREF_RESPONSE};
}

int softent_pref_positions_parse(const char *s, softent_pref_positions *out)
{
    for (int k = 0; k < 3; k++)
        if (!strcmp(s, POSITIONS[k])) {
            *out = (softent_pref_positions)k;
            return SOFTENT_OK;
        }
    return se_fail(SOFTENT_E_INVALID, "preference positions '%s': use response, last or all", s);
}

const char *softent_pref_positions_name(softent_pref_positions p)
{
    return (unsigned)p < 3 ? POSITIONS[p] : "?";
}

/* One record's texts: the prompt and the two responses, malloc'ed. */
typedef struct {
    char *prompt;
    char *response[2]; /* chosen, rejected */
    int from_messages; /* responses were chat messages: joined to the prompt by a blank line */
} pair_text;

static void free_pair(pair_text *t)
{
    free(t->prompt);
    free(t->response[0]);
    free(t->response[1]);
}

/* The first of names that rec has, or NULL. */
static const char *detect(const cJSON *rec, const char *const *names)
{
    for (int k = 0; names[k]; k++)
        if (cJSON_GetObjectItemCaseSensitive(rec, names[k])) return names[k];
    return NULL;
}

/* "a\n\nb\n\n..." of the contents of messages [0, n). */
static char *join_messages(const cJSON *msgs, int n)
{
    size_t len = 0;
    for (int k = 0; k < n; k++) len += strlen(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, k), "content")->valuestring) + 2;
    char *s = malloc(len + 1), *p = s;
    if (!s) return NULL;
    for (int k = 0; k < n; k++) {
        const char *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, k), "content")->valuestring;
        p += sprintf(p, "%s\n\n", c);
    }
    *p = 0;
    return s;
}

/* A response: a string, or chat messages whose last is the response
 * (*before: the number of messages before it). */
static int response_text(const char *path, int64_t line, const char *field, const cJSON *v, char **text, int *before)
{
    *before = -1;
    if (cJSON_IsString(v)) return (*text = strdup(v->valuestring)) ? SOFTENT_OK : SOFTENT_E_NOMEM;
    const int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (n == 0) return se_fail(SOFTENT_E_FORMAT, "%s:%lld: \"%s\" is neither a string nor a non-empty list of chat messages", path, (long long)line, field);
    for (int k = 0; k < n; k++)
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(v, k), "content")))
            return se_fail(SOFTENT_E_FORMAT, "%s:%lld: \"%s\" message %d has no string \"content\"", path, (long long)line, field, k);
    *before = n - 1;
    return (*text = strdup(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(v, n - 1), "content")->valuestring)) ? SOFTENT_OK : SOFTENT_E_NOMEM;
}

/* Without a prompt, two string responses' longest common prefix, cut back
 * to just after a space, is the prompt; both responses lose it. */
static int split_common_prefix(pair_text *t)
{
    size_t n = 0;
    while (t->response[0][n] && t->response[0][n] == t->response[1][n]) n++;
    while (n > 0 && t->response[0][n - 1] != ' ') n--;
    if (!(t->prompt = strndup(t->response[0], n))) return SOFTENT_E_NOMEM;
    for (int k = 0; k < 2; k++) memmove(t->response[k], t->response[k] + n, strlen(t->response[k] + n) + 1);
    return SOFTENT_OK;
}

static int record_texts(softent_analysis_corpus *c, const char *path, int64_t line, const cJSON *rec, pair_text *t)
{
    const char *const *f = (const char *const *)c->fields;
    int rc = SOFTENT_OK, before[2];
    for (int k = 0; k < 2 && !rc; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, f[1 + k]);
        if (!v) return se_fail(SOFTENT_E_FORMAT, "%s:%lld: no \"%s\" field", path, (long long)line, f[1 + k]);
        rc = response_text(path, line, f[1 + k], v, &t->response[k], &before[k]);
    }
    if (rc) return rc;
    if ((before[0] < 0) != (before[1] < 0))
        return se_fail(SOFTENT_E_FORMAT, "%s:%lld: one response is a string and the other chat messages", path, (long long)line);
    t->from_messages = before[0] >= 0;
    if (f[0][0]) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(rec, f[0]);
        if (!cJSON_IsString(p)) return se_fail(SOFTENT_E_FORMAT, "%s:%lld: \"%s\" is missing or not a string", path, (long long)line, f[0]);
        if (!(t->prompt = strdup(p->valuestring))) return SOFTENT_E_NOMEM;
        if (t->from_messages && t->prompt[0]) { /* a chat prompt ends with a blank line, as join_messages' */
            char *joined = realloc(t->prompt, strlen(t->prompt) + 3);
            if (!joined) return SOFTENT_E_NOMEM;
            t->prompt = strcat(joined, "\n\n");
        }
        return SOFTENT_OK;
    }
    if (!t->from_messages) return split_common_prefix(t);
    /* the prompt is the conversation before the responses: both must share it */
    t->prompt = join_messages(cJSON_GetObjectItemCaseSensitive(rec, f[1]), before[0]);
    char *other = join_messages(cJSON_GetObjectItemCaseSensitive(rec, f[2]), before[1]);
    rc = t->prompt && other ? SOFTENT_OK : SOFTENT_E_NOMEM;
    if (!rc && strcmp(t->prompt, other))
        rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: \"%s\" and \"%s\" have different conversations before their last message; "
                     "give the prompt in a field of its own", path, (long long)line, f[1], f[2]);
    free(other);
    return rc;
}

/* The fields of the first record, unless given. */
static int choose_fields(softent_analysis_corpus *c, const softent_preference_params *pp, const char *path, int64_t line, const cJSON *rec)
{
    const char *given[3] = {pp->prompt_field, pp->chosen_field, pp->rejected_field};
    const char *const *names[3] = {PROMPT_FIELDS, CHOSEN_FIELDS, REJECTED_FIELDS};
    for (int k = 0; k < 3; k++) {
        const char *f = given[k] ? given[k] : detect(rec, names[k]);
        if (!f && k > 0)
            return se_fail(SOFTENT_E_FORMAT, "%s:%lld: no %s field (looked for %s, %s, %s); name it with --preference-fields PROMPT,CHOSEN,REJECTED",
                           path, (long long)line, k == 1 ? "chosen" : "rejected", names[k][0], names[k][1], names[k][2]);
        if (!(c->fields[k] = strdup(f ? f : ""))) return SOFTENT_E_NOMEM;
    }
    c->pref.prompt_field = c->fields[0], c->pref.chosen_field = c->fields[1], c->pref.rejected_field = c->fields[2];
    return SOFTENT_OK;
}

/* One response after its prompt: the sequence's ids and the rows it feeds. */
static int tokenize_response(softent_analysis_corpus *c, softent_tokenizer *tok, const char *path, int64_t line, const pair_text *t,
                             int k, int vocab_size, se_analysis_doc *doc)
{
    int64_t n_ctx;
    const size_t plen = strlen(t->prompt);
    int rc = se_encode_continuation(tok, t->prompt, plen, t->response[k], strlen(t->response[k]), &doc->tokens, &doc->n, &n_ctx);
    if (rc || (rc = se_check_ids(path, line, doc->tokens, doc->n, vocab_size))) return rc;
    if (doc->n > c->p.max_length) { /* keep the end: the response */
        const int64_t cut = doc->n - c->p.max_length;
        memmove(doc->tokens, doc->tokens + cut, (size_t)c->p.max_length * sizeof *doc->tokens);
        doc->n = c->p.max_length;
        n_ctx = n_ctx > cut ? n_ctx - cut : 0;
        c->pref.truncated++;
    }
    const int64_t response = doc->n > n_ctx ? doc->n - n_ctx : 0;
    switch (c->pref.rule) {
    case SOFTENT_PREF_LAST: doc->first = doc->n - 1, doc->npos = response > 0; break;
    case SOFTENT_PREF_ALL: doc->first = 0, doc->npos = response > 0 ? doc->n : 0; break;
    default: doc->first = n_ctx, doc->npos = response; break;
    }
    return SOFTENT_OK;
}

static int keep_pair(softent_analysis_corpus *c, size_t *cap, se_analysis_doc *pair)
{
    if (se_grow(&c->docs, cap, (size_t)c->info.docs_used + 2, sizeof *c->docs)) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    for (int k = 0; k < 2; k++) {
        c->docs[c->info.docs_used++] = pair[k];
        c->info.tokens += pair[k].n;
        c->info.positions += pair[k].npos;
        c->info.token_hash = se_fnv1a64(c->info.token_hash, pair[k].tokens, (size_t)pair[k].n * sizeof *pair[k].tokens);
        pair[k].tokens = NULL;
    }
    c->pref.pairs_used++;
    return SOFTENT_OK;
}

/* One line's record: parsed, its fields chosen (first record), tokenized. */
static int read_record(softent_analysis_corpus *c, const softent_preference_params *pp, softent_tokenizer *tok, int vocab_size,
                       const char *path, int64_t line, const char *s, size_t n, size_t *cap)
{
    cJSON *rec = cJSON_ParseWithLength(s, n);
    if (!rec) return se_fail(SOFTENT_E_FORMAT, "%s:%lld: malformed JSON", path, (long long)line);
    int rc = cJSON_IsObject(rec) ? SOFTENT_OK : se_fail(SOFTENT_E_FORMAT, "%s:%lld: not a JSON object", path, (long long)line);
    if (!rc && !c->fields[1]) rc = choose_fields(c, pp, path, line, rec);
    pair_text t = {0};
    se_analysis_doc pair[2] = {{0}};
    if (!rc) rc = record_texts(c, path, line, rec, &t);
    cJSON_Delete(rec);
    for (int k = 0; k < 2 && !rc; k++) rc = tokenize_response(c, tok, path, line, &t, k, vocab_size, &pair[k]);
    free_pair(&t);
    if (!rc && (pair[0].npos == 0 || pair[1].npos == 0)) c->pref.pairs_dropped++;
    else if (!rc) rc = keep_pair(c, cap, pair);
    free(pair[0].tokens);
    free(pair[1].tokens);
    return rc == SOFTENT_E_NOMEM ? se_fail(rc, "out of memory") : rc;
}

static int read_records(softent_analysis_corpus *c, const softent_preference_params *pp, const char *path, softent_tokenizer *tok,
                        int vocab_size)
{
    char *data;
    size_t len, cap = 0;
    int rc = se_read_file(path, PREF_MAX_BYTES, &data, &len);
    if (rc) return rc;
    c->info.token_hash = SE_FNV1A64_INIT;
    int64_t line = 0;
    const char *s;
    size_t n, pos = 0;
    while (!rc && se_next_line(data, len, &pos, &line, &s, &n)) {
        if (c->p.max_docs && c->pref.records >= c->p.max_docs) break;
        c->pref.records++;
        rc = read_record(c, pp, tok, vocab_size, path, line, s, n, &cap);
    }
    free(data);
    if (!rc && c->pref.pairs_used == 0)
        rc = se_fail(SOFTENT_E_EMPTY, "%s: no preference pair whose two responses both have tokens (%lld records, %lld dropped)", path,
                     (long long)c->pref.records, (long long)c->pref.pairs_dropped);
    return rc;
}

/* The label "preference" (1 chosen, 0 rejected) of every row, each pair a
 * group. */
static int count_preference(softent_analysis_corpus *c)
{
    const softent_params p = se_analysis_acc_params(c);
    int set, rc = softent_acc_new(&c->labels, &p, c->d_model, NULL);
    if (!rc) rc = softent_acc_add_labelset(c->labels, "preference", 1, &set);
    int64_t most = 1;
    for (int64_t i = 0; i < c->info.docs_used; i++) most = c->docs[i].npos > most ? c->docs[i].npos : most;
    int64_t *keys = rc ? NULL : malloc((size_t)most * sizeof *keys);
    if (!rc && !keys) rc = se_fail(SOFTENT_E_NOMEM, "out of memory counting labels");
    for (int64_t i = 0; i < c->info.docs_used && !rc; i++) {
        const int64_t n = c->docs[i].npos;
        for (int64_t t = 0; t < n; t++) keys[t] = i % 2 == 0; /* chosen, rejected, chosen, ... */
        if ((rc = softent_acc_count(c->labels, set, keys, n))) break;
        for (int64_t t = 0; t < n; t++) keys[t] = i / 2;
        rc = softent_acc_count_groups(c->labels, keys, n);
    }
    free(keys);
    return rc;
}

int softent_preference_read(softent_analysis_corpus **out, const softent_analysis_params *p, const softent_preference_params *pp,
                            const char *path, softent_tokenizer *tok, int vocab_size, int64_t d_model)
{
    *out = NULL;
    if (p->max_length < 2) return se_fail(SOFTENT_E_INVALID, "max_length %lld: need >= 2", (long long)p->max_length);
    if (p->params.null_reservoir > 0)
        return se_fail(SOFTENT_E_INVALID, "preference information needs the exact null over pairs (its labels belong to whole "
                       "responses; the scaled null permutes rows): use --null R");
    if ((unsigned)pp->positions > SOFTENT_PREF_ALL) return se_fail(SOFTENT_E_INVALID, "unknown preference positions %d", (int)pp->positions);
    softent_analysis_corpus *c = calloc(1, sizeof *c);
    if (!c) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    c->p = *p;
    c->p.n_orders = c->p.n_labels = 0;
    c->p.text_field = NULL;
    c->p.params.null_groups = 2; /* swap chosen and rejected within pairs */
    /* The curve and taylor corrections take a value's rows as exchangeable
     * draws; a response's tokens arrive together and are not, so their
     * corrections would measure the drift between responses as bias.  The
     * null over whole responses is the correction that holds. */
    c->p.params.correction = p->params.null_perms >= 2 ? SOFTENT_CORRECT_NULL : SOFTENT_CORRECT_NONE;
    c->d_model = d_model;
    c->preference = 1;
    c->pref.rule = pp->positions;
    int rc = read_records(c, pp, path, tok, vocab_size);
    if (!rc) rc = count_preference(c);
    c->info.docs_read = c->info.docs_used;
    if (rc) softent_analysis_corpus_free(c);
    else *out = c;
    return rc;
}

int softent_preference_get_info(const softent_analysis_corpus *c, softent_preference_info *info)
{
    if (!c->preference) return se_fail(SOFTENT_E_INVALID, "not a preference corpus");
    *info = c->pref;
    info->tokens = c->info.tokens, info->positions = c->info.positions, info->token_hash = c->info.token_hash;
    return SOFTENT_OK;
}
